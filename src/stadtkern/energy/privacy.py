"""The energy module in the privacy center: a household's meters, their readings and its activations.

Export: every meter whose Datastream the account owns, with all its stored readings (consumption, and the
feed-in of a PV system), and the activation
codes it redeemed (when, which meter) and its activation attempts. Erasure: the account stops being the
owner of its meters (they fall back to the operating utility), redeemed codes lose the link to the account
and the attempts are deleted. The readings themselves stay with the metering operator, who must keep them
(Messstellenbetriebsgesetz), no longer linked to the account: listed under "kept" with that reason.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import ErasureReport, RetainedRecord
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.energy.activation import meters_of
from stadtkern.energy.models import ActivationAttempt, ActivationCode
from stadtkern.sensorthings import models as m

RETENTION_REASON = _l(
    "Die Messwerte gehören zur Abrechnung des Messstellenbetreibers (Messstellenbetriebsgesetz, MsbG "
    "§§ 49, 60) und werden nach Ablauf der Aufbewahrungsfrist gelöscht; mit Ihrem Konto sind sie nach der "
    "Löschung nicht mehr verbunden."
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def _readings(session: AsyncSession, datastream_id: int) -> list[list[Any]]:
    rows = (
        await session.execute(
            select(m.OBSERVATIONS.c.phenomenon_time, m.OBSERVATIONS.c.result_number)
            .where(m.OBSERVATIONS.c.datastream_id == datastream_id)
            .order_by(m.OBSERVATIONS.c.phenomenon_time)
        )
    ).all()
    return [[_iso(t), v] for t, v in rows]


class EnergyPrivacy:
    name: ClassVar = "energy"
    title: ClassVar = _l("Stromzähler und Verbrauchsdaten")
    tables: ClassVar = (ActivationCode.__table__, ActivationAttempt.__table__)

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        meters = []
        for meter in await meters_of(session, user_id):
            entry: dict[str, Any] = {
                "meter": meter.code,
                "name": meter.name,
                "unit": "Wh je 15 Minuten (Zeitpunkt: Ende der Viertelstunde, UTC)",
                "readings": await _readings(session, meter.datastream_id),
            }
            if meter.feed_in_id is not None:
                # OBIS 2.8.0: what the household's PV system fed into the grid.
                entry["feed_in_readings"] = await _readings(session, meter.feed_in_id)
            meters.append(entry)
        codes = (
            await session.scalars(select(ActivationCode).where(ActivationCode.used_by_user_id == user_id))
        ).all()
        attempts = (
            await session.scalars(select(ActivationAttempt).where(ActivationAttempt.user_id == user_id))
        ).all()
        return {
            "meters": meters,
            "activations": [{"meter": c.meter_code, "activated_at": _iso(c.used_at)} for c in codes],
            "activation_attempts": [{"at": _iso(a.at), "success": a.success} for a in attempts],
        }

    async def retained(self, session: AsyncSession, user_id: int) -> list[RetainedRecord]:
        return [
            RetainedRecord(_l("Messwerte des Zählers %(meter)s", meter=meter.code), RETENTION_REASON)
            for meter in await meters_of(session, user_id)
        ]

    async def erase(self, session: AsyncSession, user_id: int) -> ErasureReport:
        report = ErasureReport()
        meters = await meters_of(session, user_id)
        if meters:
            await session.execute(
                update(m.DATASTREAMS)
                .where(m.DATASTREAMS.c.id.in_([ds for meter in meters for ds in meter.datastream_ids]))
                .values(owner_user_id=None)
            )
            report.anonymised.append(f"{len(meters)} meter link(s)")
            report.retained += [
                (f"readings of meter {meter.code}", str(RETENTION_REASON)) for meter in meters
            ]
        result = await session.execute(
            update(ActivationCode)
            .where(ActivationCode.used_by_user_id == user_id)
            .values(used_by_user_id=None)
        )
        if getattr(result, "rowcount", 0):
            report.anonymised.append("energy_activation_codes")
        await session.execute(delete(ActivationAttempt).where(ActivationAttempt.user_id == user_id))
        report.erased.append("energy_activation_attempts")
        return report
