"""The mails of a booking (to be completed): hold, confirmation with QR code and iCal, reminder."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.appointments import models as m
from stadtkern.web.runtime import Runtime


async def send_reminder(
    session: AsyncSession, booking: m.Booking, *, runtime: Runtime, now: datetime
) -> None:
    raise NotImplementedError
