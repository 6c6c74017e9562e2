"""Alerts in the privacy center: the on-call entries of a person and what they acknowledged or resolved.

On erasure the rota entries go; alerts stay (they are the operating record of the city's assets) with
the person's link removed (acknowledged/resolved by: empty) and their notes kept.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import ErasureReport, RetainedRecord
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.twin.alerts import models as m


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class AlertPrivacy:
    name: ClassVar = "alerts"
    title: ClassVar = _l("Alarme und Bereitschaftsdienst")
    tables: ClassVar = (m.ALERTS, m.ROTA)

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        rota = (await session.scalars(select(m.RotaEntry).where(m.RotaEntry.user_id == user_id))).all()
        alerts = (
            await session.scalars(
                select(m.Alert).where(or_(m.Alert.acknowledged_by == user_id, m.Alert.resolved_by == user_id))
            )
        ).all()
        return {
            "on_call": [
                {"organisation": e.organisation, "from": _iso(e.starts_at), "until": _iso(e.ends_at)}
                for e in rota
            ],
            "alerts_handled": [
                {
                    "alert": a.id,
                    "asset": a.asset_code,
                    "acknowledged_at": _iso(a.acknowledged_at) if a.acknowledged_by == user_id else None,
                    "acknowledge_note": a.acknowledge_note if a.acknowledged_by == user_id else None,
                    "resolved_at": _iso(a.resolved_at) if a.resolved_by == user_id else None,
                    "resolve_note": a.resolve_note if a.resolved_by == user_id else None,
                }
                for a in alerts
            ],
        }

    async def retained(self, session: AsyncSession, user_id: int) -> list[RetainedRecord]:
        return []

    async def erase(self, session: AsyncSession, user_id: int) -> ErasureReport:
        report = ErasureReport()
        await session.execute(delete(m.RotaEntry).where(m.RotaEntry.user_id == user_id))
        await session.execute(
            update(m.Alert).where(m.Alert.acknowledged_by == user_id).values(acknowledged_by=None)
        )
        await session.execute(update(m.Alert).where(m.Alert.resolved_by == user_id).values(resolved_by=None))
        report.erased.append("alerts: on-call entries")
        report.anonymised.append("alerts: acknowledged/resolved by")
        return report
