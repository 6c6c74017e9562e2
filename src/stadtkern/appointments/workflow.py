"""A citizen's steps as one call each: the rule (``services``) and the mail that goes with it.

Everything runs in the caller's transaction; the mails leave once it commits. Raises AppointmentError.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.appointments import mails, services
from stadtkern.appointments import models as m
from stadtkern.web.runtime import Runtime


def zone_of(runtime: Runtime) -> ZoneInfo:
    return ZoneInfo(runtime.city.city.timezone)


async def book(
    session: AsyncSession, request: services.Request, *, runtime: Runtime, now: datetime, base_url: str
) -> services.Held:
    """Hold the time and mail the confirmation link (a repeated submit sends no second mail)."""
    held = await services.hold(
        session, request, now=now, timezone=zone_of(runtime), secret_key=runtime.settings.secret_key
    )
    if not held.repeated:
        await mails.send_hold(session, held.booking, runtime=runtime, now=now, base_url=base_url)
    return held


async def confirm(
    session: AsyncSession, token: str, *, runtime: Runtime, now: datetime, base_url: str
) -> tuple[m.Booking, bool]:
    """Confirm through the mailed link; returns the booking and whether it was confirmed just now."""
    before = (await services.booking_by_token(session, token)).status
    booking = await services.confirm(session, token, now=now, timezone=zone_of(runtime))
    fresh = before == m.HELD and booking.status == m.CONFIRMED
    if fresh:
        await mails.send_confirmation(session, booking, runtime=runtime, now=now, base_url=base_url)
    return booking, fresh


async def cancel(
    session: AsyncSession, token: str, *, runtime: Runtime, now: datetime, base_url: str
) -> m.Booking:
    before = (await services.booking_by_token(session, token)).status
    booking = await services.cancel(session, token, now=now)
    if before != m.CANCELLED:
        await mails.send_cancellation(session, booking, runtime=runtime, now=now, base_url=base_url)
    return booking


async def move(
    session: AsyncSession,
    token: str,
    new_start: datetime,
    *,
    runtime: Runtime,
    now: datetime,
    base_url: str,
) -> m.Booking:
    """Move to another free time; a confirmed booking gets an updated mail and calendar entry."""
    booking = await services.move(session, token, new_start, now=now, timezone=zone_of(runtime))
    if booking.status == m.CONFIRMED:
        await mails.send_confirmation(
            session, booking, runtime=runtime, now=now, base_url=base_url, updated=True
        )
    else:
        await mails.send_hold(session, booking, runtime=runtime, now=now, base_url=base_url)
    return booking
