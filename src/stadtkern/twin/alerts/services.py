"""The alert inbox: open alerts, acknowledging and resolving them, the history, and alerts per asset.

Operators see only alerts of their organisations' assets (the organisation is copied from
``twin_assets`` when the alert is raised); admins see all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.accounts.models import User
from stadtkern.core.i18n import gettext as _
from stadtkern.twin.alerts import access
from stadtkern.twin.alerts import models as m
from stadtkern.twin.alerts.errors import AlertError, NotFound
from stadtkern.twin.models import Asset

BASE = "/leitstelle/alarme"
NOTE_MAX = 2000
HISTORY_PAGE = 50


def alert_url(alert_id: int) -> str:
    """The page of one alert."""
    return f"{BASE}/{alert_id}"


@dataclass(frozen=True)
class AlertSummary:
    """An alert as other modules (the operator console) read it."""

    id: int
    rule_title: str
    severity: str
    state: str
    raised_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    value: float | None
    url: str


@dataclass(frozen=True)
class AlertRow:
    """An alert with what the inbox shows about it."""

    alert: m.Alert
    rule: m.AlertRule
    asset_name: str
    acknowledged_by: str | None
    resolved_by: str | None

    @property
    def url(self) -> str:
        return alert_url(self.alert.id)


async def alerts_for_asset(
    session: AsyncSession, asset_code: str, *, open_only: bool = False
) -> list[AlertSummary]:
    """The alerts of one asset, newest first (the caller checks that its user may see the asset)."""
    query = (
        select(m.Alert, m.AlertRule.title, m.AlertRule.severity)
        .join(m.AlertRule, m.AlertRule.id == m.Alert.rule_id)
        .where(m.Alert.asset_code == asset_code)
        .order_by(m.Alert.raised_at.desc(), m.Alert.id.desc())
    )
    if open_only:
        query = query.where(m.Alert.state != m.RESOLVED)
    return [
        AlertSummary(
            id=alert.id,
            rule_title=title,
            severity=severity,
            state=alert.state,
            raised_at=alert.raised_at,
            acknowledged_at=alert.acknowledged_at,
            resolved_at=alert.resolved_at,
            value=alert.last_value if alert.state != m.RESOLVED else alert.value,
            url=alert_url(alert.id),
        )
        for alert, title, severity in (await session.execute(query)).all()
    ]


@dataclass(frozen=True)
class HistoryFilter:
    """Filters of the history of closed alerts (all optional)."""

    asset_code: str | None = None
    type_key: str | None = None
    severity: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _rows_query(user: User) -> Select[m.Alert, m.AlertRule, str]:
    return (
        select(m.Alert, m.AlertRule, Asset.name)
        .join(m.AlertRule, m.AlertRule.id == m.Alert.rule_id)
        .join(Asset, Asset.id == m.Alert.asset_id)
        .where(access.organisation_filter(user, m.Alert.organisation))
    )


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(User.id, User.display_name, User.email).where(User.id.in_(ids)))
    return {uid: name or (email or "") for uid, name, email in rows.all()}


async def _rows(session: AsyncSession, query: Select[m.Alert, m.AlertRule, str]) -> list[AlertRow]:
    found = (await session.execute(query)).all()
    people = {a.acknowledged_by for a, _r, _n in found} | {a.resolved_by for a, _r, _n in found}
    names = await _names(session, {p for p in people if p is not None})
    return [
        AlertRow(
            alert,
            rule,
            name,
            names.get(alert.acknowledged_by) if alert.acknowledged_by else None,
            names.get(alert.resolved_by) if alert.resolved_by else None,
        )
        for alert, rule, name in found
    ]


_SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


async def inbox(session: AsyncSession, user: User) -> list[AlertRow]:
    """The open and acknowledged alerts ``user`` handles: critical first, then newest first."""
    query = _rows_query(user).where(m.Alert.state != m.RESOLVED).order_by(m.Alert.raised_at.desc())
    rows = await _rows(session, query)
    return sorted(rows, key=lambda r: (_SEVERITY_ORDER.get(r.rule.severity, 3), r.alert.state != m.OPEN))


async def history(
    session: AsyncSession, user: User, filters: HistoryFilter, *, page: int = 1
) -> tuple[list[AlertRow], int]:
    """Closed alerts, newest first, filtered; returns one page and the total count."""
    query = _rows_query(user).where(m.Alert.state == m.RESOLVED)
    if filters.asset_code:
        query = query.where(m.Alert.asset_code == filters.asset_code)
    if filters.type_key:
        query = query.where(m.AlertRule.type_key == filters.type_key)
    if filters.severity:
        query = query.where(m.AlertRule.severity == filters.severity)
    if filters.since:
        query = query.where(m.Alert.raised_at >= filters.since)
    if filters.until:
        query = query.where(m.Alert.raised_at < filters.until)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(page, 1)
    query = query.order_by(m.Alert.resolved_at.desc(), m.Alert.id.desc())
    rows = await _rows(session, query.limit(HISTORY_PAGE).offset((page - 1) * HISTORY_PAGE))
    return rows, int(total)


async def alert_row(session: AsyncSession, user: User, alert_id: int) -> AlertRow:
    """One alert ``user`` may see; another organisation's alert answers as if it did not exist."""
    rows = await _rows(session, _rows_query(user).where(m.Alert.id == alert_id))
    if not rows:
        raise NotFound(_("Diesen Alarm gibt es nicht."))
    return rows[0]


def _note(raw: str, field: str) -> str | None:
    note = raw.strip()
    if len(note) > NOTE_MAX:
        raise AlertError(_("Die Notiz darf höchstens %(max)s Zeichen lang sein.", max=str(NOTE_MAX)), field)
    return note or None


async def acknowledge(
    session: AsyncSession, user: User, alert_id: int, note: str, *, now: datetime
) -> m.Alert:
    """Someone looks after it: who, when and a note. Only an open alert can be acknowledged."""
    row = await alert_row(session, user, alert_id)
    alert = row.alert
    if alert.state != m.OPEN:
        raise AlertError(_("Dieser Alarm ist nicht mehr offen."), "note")
    alert.acknowledge_note = _note(note, "note")
    alert.state = m.ACKNOWLEDGED
    alert.acknowledged_at = now
    alert.acknowledged_by = user.id
    await session.flush()
    return alert


async def resolve(session: AsyncSession, user: User, alert_id: int, note: str, *, now: datetime) -> m.Alert:
    """Close an alert by hand. If its condition persists, it is raised again once it clears and recurs."""
    row = await alert_row(session, user, alert_id)
    alert = row.alert
    if alert.state == m.RESOLVED:
        raise AlertError(_("Dieser Alarm ist bereits erledigt."), "resolve_note")
    alert.resolve_note = _note(note, "resolve_note")
    alert.state = m.RESOLVED
    alert.resolved_at = now
    alert.resolved_by = user.id
    alert.resolution = m.MANUAL
    await session.flush()
    return alert


async def open_count(session: AsyncSession, user: User) -> int:
    query = select(func.count()).where(
        m.Alert.state != m.RESOLVED, access.organisation_filter(user, m.Alert.organisation)
    )
    return int(await session.scalar(query) or 0)
