"""Background jobs: release unconfirmed holds, send reminders, anonymise old bookings.

They run from the job queue, so a hold expires and a reminder goes out after a restart too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, update

from stadtkern.appointments import mails, services
from stadtkern.appointments import models as m
from stadtkern.contracts import JobKind, PeriodicJob
from stadtkern.core.jobs.context import JobContext

# Personal details of a booking are kept this long after the appointment (questions, complaints), then
# removed; the anonymous rest stays for the statistics.
KEEP_PERSONAL_DAYS = 90


def city_zone(context: JobContext) -> ZoneInfo:
    return ZoneInfo(context.runtime.city.city.timezone)


async def expire_hold(context: JobContext, payload: dict[str, Any]) -> None:
    rt = context.runtime
    async with rt.sessions() as session, session.begin():
        await services.expire_hold(session, int(payload["booking_id"]), now=rt.clock.now())


async def expire_overdue_holds(context: JobContext, payload: dict[str, Any]) -> None:
    """Safety net for holds whose own job was lost (e.g. a database restored from backup)."""
    rt = context.runtime
    async with rt.sessions() as session, session.begin():
        await session.execute(
            update(m.Booking)
            .where(m.Booking.status == m.HELD, m.Booking.hold_expires_at <= rt.clock.now())
            .values(status=m.EXPIRED)
        )


async def remind(context: JobContext, payload: dict[str, Any]) -> None:
    rt = context.runtime
    async with rt.sessions() as session, session.begin():
        booking = await session.get(m.Booking, int(payload["booking_id"]))
        # Moved or cancelled since the job was queued: a newer job (or none) is responsible.
        if (
            booking is None
            or booking.status != m.CONFIRMED
            or booking.starts_at != datetime.fromisoformat(str(payload["starts_at"]))
        ):
            return
        await mails.send_reminder(session, booking, runtime=rt, now=rt.clock.now())


async def anonymise_old(context: JobContext, payload: dict[str, Any]) -> None:
    rt = context.runtime
    before = rt.clock.now() - timedelta(days=KEEP_PERSONAL_DAYS)
    async with rt.sessions() as session, session.begin():
        await session.execute(
            update(m.Booking)
            .where(
                m.Booking.ends_at < before,
                or_(m.Booking.email != "", m.Booking.name != "", m.Booking.phone != ""),
            )
            .values(name="", email="", phone="", email_hash="", source_hash="", user_id=None)
        )
        await session.execute(
            update(m.WalkIn).where(m.WalkIn.arrived_at < before, m.WalkIn.name != "").values(name="")
        )


JOB_KINDS = [
    JobKind("appointments.expire_hold", expire_hold, max_attempts=5),
    JobKind("appointments.expire_overdue", expire_overdue_holds, max_attempts=3),
    JobKind("appointments.remind", remind, max_attempts=5),
    JobKind("appointments.anonymise", anonymise_old, max_attempts=3),
]
PERIODIC_JOBS = [
    PeriodicJob("appointments.expire_overdue", every=timedelta(minutes=10)),
    PeriodicJob("appointments.anonymise", every=timedelta(days=1)),
]
