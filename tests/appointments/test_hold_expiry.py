"""An unconfirmed hold is released by the job queue at its expiry, also by a runner started afterwards."""

from __future__ import annotations

from datetime import timedelta

from stadtkern.appointments import models as m
from stadtkern.appointments import services as svc
from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.web.runtime import Runtime
from tests.appointments.test_booking_rules import WEDNESDAY, at, book


async def test_the_expiry_job_releases_the_place_after_a_restart(rt: Runtime, clock: FrozenClock) -> None:
    start = at(WEDNESDAY, 9)
    async with rt.sessions() as session, session.begin():
        office = await session.get(m.Office, (await svc.office_by_key(session, "bs-mitte")).id)
        assert office is not None
        office.counters = 1  # one place at this time
    first = await book(rt, clock, start=start)
    # Not due yet: a runner finds nothing to do for the hold.
    await JobRunner(rt).run_until_idle()
    async with rt.sessions() as session:
        pending = await session.get(m.Booking, first.booking.id)
        assert pending is not None
        assert pending.status == m.HELD
    # The process "restarts" (a new runner) after the hold ran out unconfirmed.
    clock.advance(timedelta(minutes=svc.HOLD_MINUTES, seconds=1))
    await JobRunner(rt).run_until_idle()
    async with rt.sessions() as session:
        released = await session.get(m.Booking, first.booking.id)
        assert released is not None
        assert released.status == m.EXPIRED
    # The place is free again for someone else.
    second = await book(rt, clock, start=start, email="max@example.org", source="192.0.2.7")
    assert second.booking.status == m.HELD
