"""No slot is booked beyond its capacity under concurrency (issue 5, "Correctness").

On PostgreSQL the test first shows the race with the lock switched off (``serialize=False``): many
simultaneous holds on one slot all count the same free place and all insert, so the slot ends up
overbooked. Then the same load with the lock (``SELECT … FOR UPDATE`` on the office row) ends with exactly
its capacity. On SQLite the same load, with the lock (``BEGIN IMMEDIATE``), ends with exactly its capacity
and with no "database is locked" error: the only refusals are ``SlotTaken``.

Each attempt runs in its own session on its own connection. To make the race reproducible without
touching production code, every attempt first opens its connection and then waits at a barrier, so that
all of them start ``hold`` together (otherwise connection set-up staggers them and they may run one after
the other by chance). Distinct emails and client addresses keep the per-person and per-source limits out
of the way.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from stadtkern.appointments import models as m
from stadtkern.appointments import services as svc
from stadtkern.config import Settings
from stadtkern.core.clock import FrozenClock
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.web.runtime import Runtime

BERLIN = ZoneInfo("Europe/Berlin")
SLOT = datetime(2026, 11, 18, 8, 0, tzinfo=BERLIN)  # Wednesday, the day after START
ATTEMPTS = 40


async def attempt_all(
    engine: AsyncEngine,
    rt: Runtime,
    clock: FrozenClock,
    *,
    office: str,
    service: str,
    serialize: bool,
    attempts: int = ATTEMPTS,
    tag: str,
) -> Counter[str]:
    """``attempts`` simultaneous holds of one slot; the outcome of each, by kind."""
    sessions = session_factory(engine)
    barrier = asyncio.Barrier(attempts)

    async def one(index: int) -> str:
        async with sessions() as session:
            # Take a connection now (outside the transaction that hold runs in) and wait for the others.
            await session.connection()
            await session.commit()
            await barrier.wait()
            try:
                async with session.begin():
                    await svc.hold(
                        session,
                        svc.Request(
                            office_key=office,
                            service_keys=[service],
                            starts_at=SLOT,
                            email=f"{tag}-{index}@example.org",
                            source=f"{tag}-198.51.100.{index}",
                        ),
                        now=clock.now(),
                        timezone=BERLIN,
                        secret_key=rt.settings.secret_key,
                        serialize=serialize,
                    )
            except Exception as exc:  # counted by kind: the test says which kinds are allowed
                return type(exc).__name__
            return "booked"

    return Counter(await asyncio.gather(*(one(i) for i in range(attempts))))


async def bookings_at(rt: Runtime, office_key: str) -> int:
    async with rt.sessions() as session:
        office = await svc.office_by_key(session, office_key)
        return int(
            await session.scalar(
                select(func.count())
                .select_from(m.Booking)
                .where(
                    m.Booking.office_id == office.id,
                    m.Booking.starts_at == SLOT,
                    m.Booking.status.in_(m.OCCUPYING),
                )
            )
            or 0
        )


async def clear_bookings(rt: Runtime) -> None:
    async with rt.sessions() as session, session.begin():
        await session.execute(delete(m.Booking))


# Walsum handles identity cards at one counter; Rheinhausen at two (its two counters).
CASES = [("bs-walsum", "personalausweis", 1), ("bs-rheinhausen", "personalausweis", 2)]


@pytest.mark.parametrize(("office", "service", "capacity"), CASES)
async def test_no_overbooking_under_concurrency(
    rt: Runtime,
    clock: FrozenClock,
    settings: Settings,
    db_kind: str,
    office: str,
    service: str,
    capacity: int,
) -> None:
    engine = create_engine(settings.database_url, pool_size=ATTEMPTS, max_overflow=0)
    try:
        if db_kind == "postgresql":
            # 1. The race, with the lock switched off: more bookings than places.
            race = await attempt_all(
                engine, rt, clock, office=office, service=service, serialize=False, tag="race"
            )
            overbooked = await bookings_at(rt, office)
            assert overbooked > capacity, f"the race did not show: {race}"
            assert race["booked"] == overbooked
            await clear_bookings(rt)

        # 2. The same load with the lock: exactly the capacity, every other attempt a clean SlotTaken.
        outcome = await attempt_all(
            engine, rt, clock, office=office, service=service, serialize=True, tag="safe"
        )
    finally:
        await engine.dispose()
    assert await bookings_at(rt, office) == capacity
    assert outcome == Counter({"booked": capacity, "SlotTaken": ATTEMPTS - capacity}), outcome


async def test_capacity_holds_across_overlapping_starts(
    rt: Runtime, clock: FrozenClock, settings: Settings
) -> None:
    """Attempts at different but overlapping starts (08:00, 08:05, …) count against each other too."""
    engine = create_engine(settings.database_url, pool_size=ATTEMPTS, max_overflow=0)
    sessions = session_factory(engine)
    barrier = asyncio.Barrier(ATTEMPTS)

    async def one(index: int) -> str:
        async with sessions() as session:
            await session.connection()
            await session.commit()
            await barrier.wait()
            try:
                async with session.begin():
                    await svc.hold(
                        session,
                        svc.Request(
                            office_key="bs-walsum",
                            service_keys=["personalausweis"],
                            starts_at=SLOT.replace(minute=5 * (index % 4)),
                            email=f"o-{index}@example.org",
                            source=f"o-{index}",
                        ),
                        now=clock.now(),
                        timezone=BERLIN,
                        secret_key=rt.settings.secret_key,
                    )
            except Exception as exc:
                return type(exc).__name__
            return "booked"

    try:
        outcome: Counter[Any] = Counter(await asyncio.gather(*(one(i) for i in range(ATTEMPTS))))
    finally:
        await engine.dispose()
    # 20-minute bookings starting within 15 minutes of each other all overlap: one counter, one booking.
    assert outcome == Counter({"booked": 1, "SlotTaken": ATTEMPTS - 1}), outcome
