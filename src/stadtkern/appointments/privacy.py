"""The appointment module's personal data in the privacy center: a citizen's bookings."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.appointments import models as m
from stadtkern.contracts import ErasureReport, RetainedRecord
from stadtkern.core.i18n import lazy_gettext as _l


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class AppointmentPrivacy:
    name: ClassVar = "appointments"
    title: ClassVar = _l("Termine")
    # Walk-ins carry only a first name given at the counter and no account: they are removed by the
    # anonymisation job (jobs.py), never linked to a user.
    tables: ClassVar = (m.Booking.__table__, m.WalkIn.__table__)

    async def export(self, session: AsyncSession, user_id: int) -> dict[str, Any]:
        rows = (
            await session.execute(
                select(m.Booking, m.Office.name)
                .join(m.Office, m.Office.id == m.Booking.office_id)
                .where(m.Booking.user_id == user_id)
                .order_by(m.Booking.starts_at)
            )
        ).all()
        names = {s.id: s.name for s in (await session.scalars(select(m.Service))).all()}
        return {
            "bookings": [
                {
                    "code": booking.code,
                    "office": office_name,
                    "services": [names.get(i, str(i)) for i in booking.service_ids],
                    "starts_at": booking.starts_at.isoformat(),
                    "ends_at": booking.ends_at.isoformat(),
                    "status": booking.status,
                    "name": booking.name,
                    "email": booking.email,
                    "phone": booking.phone,
                    "channel": booking.channel,
                    "created_at": booking.created_at.isoformat(),
                }
                for booking, office_name in rows
            ]
        }

    async def retained(self, session: AsyncSession, user_id: int) -> list[RetainedRecord]:
        return []

    async def erase(self, session: AsyncSession, user_id: int) -> ErasureReport:
        """Open future bookings are cancelled; all of them lose name, contact and the link to the user."""
        report = ErasureReport()
        result = await session.execute(
            update(m.Booking)
            .where(m.Booking.user_id == user_id, m.Booking.status.in_(m.OPEN))
            .values(status=m.CANCELLED)
        )
        report.erased.append(f"appt_bookings (open, cancelled): {_count(result)}")
        result = await session.execute(
            update(m.Booking)
            .where(m.Booking.user_id == user_id)
            .values(user_id=None, name="", email="", phone="", email_hash="", source_hash="")
        )
        report.anonymised.append(
            f"appt_bookings (kept without name and contact, for statistics): {_count(result)}"
        )
        return report
