"""Alert rules: checking what an operator enters, saving it, and the rules every installation starts with.

A rule watches one Datastream key of an asset type, for all assets of the type (of one organisation or,
for admins, of all) or for one asset (``asset_code``). Kinds:

- ``threshold``: the value above/below ``threshold``; cleared once back past ``threshold ∓ hysteresis``;
- ``rate``: the change per hour between two readings above/below ``threshold`` (a negative threshold
  with ``below`` watches a fall), with the same hysteresis;
- ``no_data``: no reading for ``minutes``; cleared by the next reading. Without a stream key it watches
  every Datastream of the type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import AssetType
from stadtkern.core.accounts.models import User
from stadtkern.core.i18n import gettext as _
from stadtkern.twin.alerts import access
from stadtkern.twin.alerts import models as m
from stadtkern.twin.alerts.errors import Forbidden, InvalidInput, NotFound
from stadtkern.twin.models import Asset

FIELDS = (
    "title",
    "kind",
    "type_key",
    "stream_key",
    "asset_code",
    "organisation",
    "comparison",
    "threshold",
    "hysteresis",
    "minutes",
    "severity",
)
MAX_MINUTES = 60 * 24 * 31


@dataclass(frozen=True)
class RuleInput:
    """A checked rule, ready to be saved."""

    title: str
    kind: str
    type_key: str
    stream_key: str | None
    asset_code: str | None
    organisation: str | None
    comparison: str | None
    threshold: float | None
    hysteresis: float
    minutes: int | None
    severity: str


def _number(raw: str) -> float:
    """A decimal number as people type it: ``12,5`` or ``12.5``."""
    value = float(raw.strip().replace(",", "."))
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(raw)
    return value


async def check_rule(
    session: AsyncSession,
    user: User,
    data: Mapping[str, str],
    types: Mapping[str, AssetType],
    organisations: Mapping[str, str],
) -> RuleInput:
    """Check a rule form; raises ``InvalidInput`` with a message per wrong field."""
    errors: dict[str, str] = {}
    raw = {name: (data.get(name) or "").strip() for name in FIELDS}

    title = raw["title"]
    if not title:
        errors["title"] = _("Bitte geben Sie der Regel einen Namen.")
    elif len(title) > 200:
        errors["title"] = _("Der Name darf höchstens 200 Zeichen lang sein.")

    kind = raw["kind"]
    if kind not in m.KINDS:
        errors["kind"] = _("Bitte wählen Sie die Art der Regel.")

    asset_type = types.get(raw["type_key"])
    if asset_type is None:
        errors["type_key"] = (
            _("Unbekannter Anlagentyp „%(key)s“.", key=raw["type_key"])
            if raw["type_key"]
            else _("Bitte wählen Sie einen Anlagentyp.")
        )

    stream_key = raw["stream_key"] or None
    if asset_type is not None:
        keys = [s.key for s in asset_type.datastreams]
        if stream_key is not None and stream_key not in keys:
            errors["stream_key"] = _(
                "Der Anlagentyp %(type)s hat keinen Datenstrom „%(key)s“. Vorhanden: %(keys)s.",
                type=str(asset_type.title),
                key=stream_key,
                keys=", ".join(keys),
            )
        elif stream_key is None and kind in (m.THRESHOLD, m.RATE):
            errors["stream_key"] = _("Bitte geben Sie den Datenstrom an (%(keys)s).", keys=", ".join(keys))

    comparison: str | None = None
    threshold: float | None = None
    hysteresis = 0.0
    minutes: int | None = None
    if kind in (m.THRESHOLD, m.RATE):
        comparison = raw["comparison"]
        if comparison not in m.COMPARISONS:
            errors["comparison"] = _("Bitte wählen Sie „über“ oder „unter“.")
        if not raw["threshold"]:
            errors["threshold"] = _("Bitte geben Sie einen Schwellenwert an.")
        else:
            try:
                threshold = _number(raw["threshold"])
            except ValueError:
                errors["threshold"] = _("Der Schwellenwert muss eine Zahl sein, z. B. 12,5.")
        if raw["hysteresis"]:
            try:
                hysteresis = _number(raw["hysteresis"])
            except ValueError:
                errors["hysteresis"] = _("Die Hysterese muss eine Zahl sein, z. B. 2,5.")
            else:
                if hysteresis < 0:
                    errors["hysteresis"] = _("Die Hysterese darf nicht negativ sein.")
    elif kind == m.NO_DATA:
        try:
            minutes = int(raw["minutes"])
        except ValueError:
            errors["minutes"] = _("Bitte geben Sie die Minuten als ganze Zahl an, z. B. 60.")
        else:
            if not 1 <= minutes <= MAX_MINUTES:
                errors["minutes"] = _(
                    "Die Minuten müssen zwischen 1 und %(max)s liegen.", max=str(MAX_MINUTES)
                )

    severity = raw["severity"] or "warning"
    if severity not in m.SEVERITIES:
        errors["severity"] = _("Bitte wählen Sie eine Dringlichkeit.")

    asset_code = raw["asset_code"] or None
    organisation = raw["organisation"] or None
    if asset_code is not None:
        asset = await session.scalar(select(Asset).where(Asset.code == asset_code))
        if asset is None:
            errors["asset_code"] = _("Es gibt keine Anlage mit der Kennung „%(code)s“.", code=asset_code)
        elif asset_type is not None and asset.type_key != asset_type.key:
            errors["asset_code"] = _(
                "Die Anlage %(code)s ist kein(e) %(type)s.", code=asset_code, type=str(asset_type.title)
            )
        else:
            organisation = asset.organisation
    if organisation is not None and organisation not in organisations:
        errors["organisation"] = _("Unbekannte Organisation „%(key)s“.", key=organisation)
    elif "asset_code" not in errors:
        scopes = access.organisations_of(user)
        if organisation is None and scopes is not None:
            if len(scopes) == 1:
                organisation = next(iter(scopes))
            else:
                errors["organisation"] = _("Bitte wählen Sie die Organisation, für die die Regel gilt.")
        elif not access.may_handle(user, organisation):
            field = "asset_code" if asset_code else "organisation"
            errors[field] = _("Für diese Organisation sind Sie nicht zuständig.")

    if errors:
        raise InvalidInput(errors)
    assert kind in m.KINDS and asset_type is not None
    return RuleInput(
        title=title,
        kind=kind,
        type_key=asset_type.key,
        stream_key=stream_key,
        asset_code=asset_code,
        organisation=organisation,
        comparison=comparison,
        threshold=threshold,
        hysteresis=hysteresis,
        minutes=minutes,
        severity=severity,
    )


def _apply(rule: m.AlertRule, checked: RuleInput) -> None:
    for name in FIELDS:
        setattr(rule, name, getattr(checked, name))


async def create_rule(session: AsyncSession, checked: RuleInput, *, now: datetime) -> m.AlertRule:
    rule = m.AlertRule(enabled=True, created_at=now, updated_at=now)
    _apply(rule, checked)
    session.add(rule)
    await session.flush()
    return rule


async def rule_for(session: AsyncSession, user: User, rule_id: int, *, edit: bool = False) -> m.AlertRule:
    """A rule ``user`` may see (or, with ``edit``, change): rules of all organisations are admins' to edit."""
    rule = await session.get(m.AlertRule, rule_id)
    if rule is None:
        raise NotFound(_("Diese Regel gibt es nicht."))
    scopes = access.organisations_of(user)
    visible = scopes is None or rule.organisation is None or rule.organisation in scopes
    if not visible or (edit and not access.may_handle(user, rule.organisation)):
        raise Forbidden(_("Diese Regel gehört zu einer Organisation, für die Sie nicht zuständig sind."))
    return rule


async def update_rule(
    session: AsyncSession, user: User, rule_id: int, checked: RuleInput, *, now: datetime
) -> m.AlertRule:
    rule = await rule_for(session, user, rule_id, edit=True)
    changed_target = (rule.kind, rule.type_key, rule.stream_key, rule.asset_code, rule.organisation) != (
        checked.kind,
        checked.type_key,
        checked.stream_key,
        checked.asset_code,
        checked.organisation,
    )
    _apply(rule, checked)
    rule.updated_at = now
    if changed_target:
        # Other streams now: their evaluation starts afresh (open alerts stay until resolved).
        await session.execute(m.STATES_TABLE.delete().where(m.STATES_TABLE.c.rule_id == rule.id))
    return rule


async def set_enabled(
    session: AsyncSession, user: User, rule_id: int, enabled: bool, *, now: datetime
) -> m.AlertRule:
    """Switch a rule off (its evaluation state is dropped, open alerts stay) or on again."""
    rule = await rule_for(session, user, rule_id, edit=True)
    if rule.enabled != enabled:
        rule.enabled = enabled
        rule.updated_at = now
        if not enabled:
            await session.execute(m.STATES_TABLE.delete().where(m.STATES_TABLE.c.rule_id == rule.id))
    return rule


async def visible_rules(session: AsyncSession, user: User) -> list[m.AlertRule]:
    """The rules of ``user``'s organisations and those for all organisations, by type and title."""
    query = select(m.AlertRule).order_by(m.AlertRule.type_key, m.AlertRule.title, m.AlertRule.id)
    scopes = access.organisations_of(user)
    if scopes is not None:
        query = query.where(m.AlertRule.organisation.is_(None) | m.AlertRule.organisation.in_(sorted(scopes)))
    return list((await session.scalars(query)).all())


def rule_to_form(rule: m.AlertRule) -> dict[str, str]:
    """A saved rule as the form shows it (decimal comma, as it is typed in German)."""

    def num(value: float | None) -> str:
        if value is None:
            return ""
        text = f"{value:g}"
        return text.replace(".", ",")

    return {
        "title": rule.title,
        "kind": rule.kind,
        "type_key": rule.type_key,
        "stream_key": rule.stream_key or "",
        "asset_code": rule.asset_code or "",
        "organisation": rule.organisation or "",
        "comparison": rule.comparison or "",
        "threshold": num(rule.threshold),
        "hysteresis": num(rule.hysteresis),
        "minutes": str(rule.minutes or ""),
        "severity": rule.severity,
    }


# --- the rules every installation starts with ----------------------------------------------------------

# (type key, stream key, comparison, threshold, hysteresis, severity, title): created where the asset
# type and its stream exist. A ``fault`` stream reads 1 while the asset is broken. (Value rules such as a
# full waste container are left to the operators: in the demo city a quarter of the containers are full at
# any time, which would bury the faults.)
VALUE_DEFAULTS: tuple[tuple[str, str, str, float, float, str, str], ...] = (
    ("*", "fault", m.ABOVE, 0.5, 0.0, "critical", "Störung gemeldet"),
)
# Without a reading for this long a stream counts as silent. Readings of instantaneous streams come at
# least hourly (street lights report their fault state hourly) and the live simulator writes them every
# quarter hour, so two hours do not flag a normal hour; longer intervals (a daily count) get two more hours.
NO_DATA_MINUTES = 120


def no_data_minutes(interval: timedelta | None) -> int:
    if interval is None or interval <= timedelta(hours=1):
        return NO_DATA_MINUTES
    return int(interval.total_seconds() // 60) + NO_DATA_MINUTES


def default_rules(types: Mapping[str, AssetType], now: datetime) -> list[m.AlertRule]:
    """The default rules for ``types``, each with a stable ``default_key``."""
    rules: list[m.AlertRule] = []
    for asset_type in types.values():
        keys = {s.key for s in asset_type.datastreams}
        for type_key, stream_key, comparison, threshold, hysteresis, severity, title in VALUE_DEFAULTS:
            if type_key in ("*", asset_type.key) and stream_key in keys:
                rules.append(
                    m.AlertRule(
                        title=title,
                        kind=m.THRESHOLD,
                        type_key=asset_type.key,
                        stream_key=stream_key,
                        comparison=comparison,
                        threshold=threshold,
                        hysteresis=hysteresis,
                        severity=severity,
                        default_key=f"{asset_type.key}.{stream_key}.{m.THRESHOLD}",
                    )
                )
        for stream in asset_type.datastreams:
            rules.append(
                m.AlertRule(
                    title="Keine Daten",
                    kind=m.NO_DATA,
                    type_key=asset_type.key,
                    stream_key=stream.key,
                    minutes=no_data_minutes(stream.interval),
                    hysteresis=0.0,
                    severity="warning",
                    default_key=f"{asset_type.key}.{stream.key}.{m.NO_DATA}",
                )
            )
    for rule in rules:
        rule.enabled = True
        rule.organisation = None
        rule.created_at = now
        rule.updated_at = now
    return rules


async def seed_default_rules(session: AsyncSession, types: Mapping[str, AssetType], *, now: datetime) -> int:
    """Add the default rules not yet there (a rule an operator edited or disabled is left alone)."""
    existing = set((await session.scalars(select(m.AlertRule.default_key))).all())
    added = [rule for rule in default_rules(types, now) if rule.default_key not in existing]
    session.add_all(added)
    await session.flush()
    return len(added)
