"""The booking rules of services.py on both databases: every refusal has its error class and German words."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from stadtkern.appointments import models as m
from stadtkern.appointments import services as svc
from stadtkern.appointments.errors import (
    AppointmentError,
    LimitReached,
    NotFound,
    SlotTaken,
    TooManyRequests,
)
from stadtkern.core.clock import FrozenClock
from stadtkern.web.runtime import Runtime

BERLIN = ZoneInfo("Europe/Berlin")
# START (tests/conftest.py): Tuesday 2026-11-17, 10:00 in Duisburg.
WEDNESDAY = date(2026, 11, 18)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


async def book(
    rt: Runtime,
    clock: FrozenClock,
    *,
    start: datetime,
    office: str = "bs-mitte",
    services: tuple[str, ...] = ("anmeldung",),
    email: str = "erika@example.org",
    source: str = "192.0.2.1",
    user_id: int | None = None,
    request_key: str | None = None,
) -> svc.Held:
    async with rt.sessions() as session, session.begin():
        return await svc.hold(
            session,
            svc.Request(
                office_key=office,
                service_keys=services,
                starts_at=start,
                email=email,
                name="Erika Mustermann",
                source=source,
                user_id=user_id,
                request_key=request_key,
            ),
            now=clock.now(),
            timezone=BERLIN,
            secret_key=rt.settings.secret_key,
        )


async def count_bookings(rt: Runtime) -> int:
    async with rt.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(m.Booking)) or 0)


async def refused(kind: type[AppointmentError], call: Awaitable[object]) -> AppointmentError:
    with pytest.raises(AppointmentError) as info:
        await call
    assert type(info.value) is kind, f"{type(info.value).__name__}: {info.value.message}"
    return info.value


async def test_a_free_time_is_held(rt: Runtime, clock: FrozenClock) -> None:
    held = await book(rt, clock, start=at(WEDNESDAY, 8))
    assert held.token
    assert held.booking.status == m.HELD
    assert held.booking.hold_expires_at == clock.now() + timedelta(minutes=svc.HOLD_MINUTES)


async def test_past_start_is_refused(rt: Runtime, clock: FrozenClock) -> None:
    error = await refused(AppointmentError, book(rt, clock, start=at(date(2026, 11, 16), 9)))
    assert error.field == "start"
    assert "Vergangenheit" in error.message
    error = await refused(AppointmentError, book(rt, clock, start=clock.now() - timedelta(minutes=5)))
    assert "Vergangenheit" in error.message


async def test_start_within_the_lead_time_is_refused(rt: Runtime, clock: FrozenClock) -> None:
    soon = clock.now() + svc.LEAD - timedelta(minutes=5)
    error = await refused(AppointmentError, book(rt, clock, start=soon))
    assert error.field == "start"
    assert "frühestens 60 Minuten im Voraus" in error.message
    assert (await book(rt, clock, start=clock.now() + svc.LEAD)).token  # exactly the lead: fine


async def test_beyond_the_horizon_is_refused(rt: Runtime, clock: FrozenClock) -> None:
    far = at(clock.now().astimezone(BERLIN).date() + timedelta(days=svc.BOOKING_HORIZON_DAYS + 1), 9)
    error = await refused(AppointmentError, book(rt, clock, start=far))
    assert error.field == "start"
    assert "höchstens 90 Tage im Voraus" in error.message


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 11, 21),  # Saturday
        date(2026, 11, 22),  # Sunday
        date(2026, 12, 25),  # 1. Weihnachtstag (NRW holiday, a Friday)
        date(2027, 1, 1),  # Neujahr (a Friday)
    ],
)
async def test_closed_days_are_refused(rt: Runtime, clock: FrozenClock, day: date) -> None:
    error = await refused(AppointmentError, book(rt, clock, start=at(day, 9)))
    assert error.field == "start"
    assert "geschlossen" in error.message


async def test_all_saints_day_is_a_holiday() -> None:
    # 1 November (Allerheiligen) is a public holiday in NRW (here a Sunday in 2026, a Monday in 2027).
    assert date(2026, 11, 1) in svc.public_holidays([2026])
    assert date(2027, 11, 1) in svc.public_holidays([2027])
    assert date(2026, 12, 25) in svc.public_holidays([2026])


async def test_a_closure_closes_the_office(rt: Runtime, clock: FrozenClock) -> None:
    async with rt.sessions() as session, session.begin():
        office = await svc.office_by_key(session, "bs-mitte")
        session.add(
            m.Closure(
                office_id=office.id, first_day=WEDNESDAY, last_day=WEDNESDAY, reason="Betriebsversammlung"
            )
        )
    error = await refused(AppointmentError, book(rt, clock, start=at(WEDNESDAY, 9)))
    assert "geschlossen" in error.message
    assert (await book(rt, clock, start=at(WEDNESDAY + timedelta(days=1), 9))).token
    # and the free times skip the day
    async with rt.sessions() as session:
        office = await svc.office_by_key(session, "bs-mitte")
        found = await svc.free_times(
            session,
            office,
            await svc.services_by_keys(session, ["anmeldung"]),
            first_day=WEDNESDAY,
            days=2,
            now=clock.now(),
            timezone=BERLIN,
        )
    assert found
    assert all(t.astimezone(BERLIN).date() != WEDNESDAY for t in found)


async def test_unknown_service_is_refused(rt: Runtime, clock: FrozenClock) -> None:
    error = await refused(AppointmentError, book(rt, clock, start=at(WEDNESDAY, 9), services=("visum",)))
    assert error.field == "services"
    assert "„visum“ gibt es nicht" in error.message
    error = await refused(AppointmentError, book(rt, clock, start=at(WEDNESDAY, 9), services=()))
    assert "mindestens eine Leistung" in error.message


async def test_unknown_office_is_not_found(rt: Runtime, clock: FrozenClock) -> None:
    error = await refused(NotFound, book(rt, clock, start=at(WEDNESDAY, 9), office="bs-mond"))
    assert error.field == "office"
    assert "„bs-mond“ gibt es nicht" in error.message


async def test_service_the_office_does_not_offer(rt: Runtime, clock: FrozenClock) -> None:
    error = await refused(
        AppointmentError, book(rt, clock, start=at(WEDNESDAY, 9), services=("kfz-zulassung",))
    )
    assert error.field == "services"
    assert "„Fahrzeug zulassen“ wird an diesem Standort nicht angeboten" in error.message


async def test_a_full_slot_is_refused(rt: Runtime, clock: FrozenClock) -> None:
    # Walsum handles identity cards at one counter.
    await book(rt, clock, start=at(WEDNESDAY, 8), office="bs-walsum", services=("personalausweis",))
    error = await refused(
        SlotTaken,
        book(
            rt,
            clock,
            start=at(WEDNESDAY, 8, 10),
            office="bs-walsum",
            services=("personalausweis",),
            email="max@example.org",
            source="192.0.2.2",
        ),
    )
    assert "nicht mehr frei" in error.message


async def test_an_expired_hold_cannot_be_confirmed_and_frees_the_place(
    rt: Runtime, clock: FrozenClock
) -> None:
    card = ("personalausweis",)
    first = await book(rt, clock, start=at(WEDNESDAY, 8), office="bs-walsum", services=card)
    assert first.token is not None

    async def other_person() -> svc.Held:
        return await book(
            rt,
            clock,
            start=at(WEDNESDAY, 8),
            office="bs-walsum",
            services=card,
            email="max@example.org",
            source="192.0.2.2",
        )

    await refused(SlotTaken, other_person())

    clock.advance(timedelta(minutes=svc.HOLD_MINUTES, seconds=1))
    async with rt.sessions() as session:  # rolled back, as the pages and the API do on a refusal
        error = await refused(
            AppointmentError, svc.confirm(session, first.token, now=clock.now(), timezone=BERLIN)
        )
    assert "abgelaufen" in error.message
    assert "15 Minuten" in error.message
    async with rt.sessions() as session, session.begin():
        assert await svc.expire_hold(session, first.booking.id, now=clock.now())
    async with rt.sessions() as session:
        booking = await session.get(m.Booking, first.booking.id)
        assert booking is not None
        assert booking.status == m.EXPIRED
    # the place is free again
    second = await other_person()
    assert second.booking.status == m.HELD
    async with rt.sessions() as session, session.begin():
        await refused(AppointmentError, svc.confirm(session, first.token, now=clock.now(), timezone=BERLIN))


async def test_expire_hold_leaves_confirmed_and_fresh_holds_alone(rt: Runtime, clock: FrozenClock) -> None:
    held = await book(rt, clock, start=at(WEDNESDAY, 8))
    async with rt.sessions() as session, session.begin():
        assert not await svc.expire_hold(session, held.booking.id, now=clock.now())  # not yet due
    assert held.token is not None
    async with rt.sessions() as session, session.begin():
        await svc.confirm(session, held.token, now=clock.now(), timezone=BERLIN)
    clock.advance(timedelta(hours=1))
    async with rt.sessions() as session, session.begin():
        assert not await svc.expire_hold(session, held.booking.id, now=clock.now())


async def test_one_open_booking_per_person_and_service(rt: Runtime, clock: FrozenClock) -> None:
    await book(rt, clock, start=at(WEDNESDAY, 8), services=("personalausweis",))
    error = await refused(
        LimitReached,
        book(rt, clock, start=at(WEDNESDAY, 10), services=("personalausweis",), email=" Erika@Example.ORG "),
    )
    assert error.field == "services"
    assert "„Personalausweis beantragen“" in error.message
    assert "schon einen offenen Termin" in error.message
    # another service is fine, and another person too
    await book(rt, clock, start=at(WEDNESDAY, 10), services=("anmeldung",))
    await book(rt, clock, start=at(WEDNESDAY, 10), services=("personalausweis",), email="max@example.org")


async def test_one_open_booking_per_account_and_service(rt: Runtime, clock: FrozenClock) -> None:
    await book(rt, clock, start=at(WEDNESDAY, 8), services=("reisepass",), user_id=42, email="a@example.org")
    await refused(
        LimitReached,
        book(rt, clock, start=at(WEDNESDAY, 11), services=("reisepass",), user_id=42, email="b@example.org"),
    )


async def test_a_cancelled_booking_no_longer_counts_for_the_person(rt: Runtime, clock: FrozenClock) -> None:
    first = await book(rt, clock, start=at(WEDNESDAY, 8), services=("personalausweis",))
    assert first.token is not None
    async with rt.sessions() as session, session.begin():
        await svc.cancel(session, first.token, now=clock.now())
    await book(rt, clock, start=at(WEDNESDAY, 9), services=("personalausweis",))


async def test_rate_limit_per_source(rt: Runtime, clock: FrozenClock) -> None:
    for index in range(svc.HOLDS_PER_SOURCE_PER_HOUR):
        await book(
            rt, clock, start=at(WEDNESDAY, 8) + timedelta(minutes=15 * index), email=f"p{index}@example.org"
        )
    error = await refused(TooManyRequests, book(rt, clock, start=at(WEDNESDAY, 14), email="late@example.org"))
    assert error.status_code == 429
    assert "Von Ihrem Anschluss" in error.message
    # another source is not affected, and an hour later this one may book again
    await book(rt, clock, start=at(WEDNESDAY, 14), email="other@example.org", source="198.51.100.7")
    clock.advance(timedelta(hours=1, seconds=1))
    await book(rt, clock, start=at(WEDNESDAY, 15), email="late@example.org")


async def test_rate_limit_per_account(rt: Runtime, clock: FrozenClock) -> None:
    for index in range(svc.HOLDS_PER_ACCOUNT_PER_HOUR):
        held = await book(
            rt,
            clock,
            start=at(WEDNESDAY, 8) + timedelta(minutes=15 * index),
            email=f"p{index}@example.org",
            source=f"192.0.2.{index + 10}",
            user_id=7,
        )
        assert held.token is not None
        async with rt.sessions() as session, session.begin():  # cancelled: only the rate counts
            await svc.cancel(session, held.token, now=clock.now())
    error = await refused(
        TooManyRequests,
        book(rt, clock, start=at(WEDNESDAY, 14), email="q@example.org", source="192.0.2.99", user_id=7),
    )
    assert "Mit Ihrem Konto" in error.message


async def test_double_submit_books_once(rt: Runtime, clock: FrozenClock) -> None:
    first = await book(rt, clock, start=at(WEDNESDAY, 8), request_key="form-1")
    second = await book(rt, clock, start=at(WEDNESDAY, 8), request_key="form-1")
    assert second.repeated
    assert second.token is None
    assert second.booking.id == first.booking.id
    assert await count_bookings(rt) == 1


async def test_simultaneous_double_submit_books_once(rt: Runtime, clock: FrozenClock) -> None:
    """Both copies of the form arrive at once (a double click): one booking, no error."""
    results = await asyncio.gather(
        *(book(rt, clock, start=at(WEDNESDAY, 8), request_key="form-2") for _ in range(3)),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    assert await count_bookings(rt) == 1
    assert sum(1 for r in results if isinstance(r, svc.Held) and not r.repeated) == 1


async def test_moving_keeps_the_rules(rt: Runtime, clock: FrozenClock) -> None:
    held = await book(rt, clock, start=at(WEDNESDAY, 8))
    assert held.token is not None
    for start, words in [
        (at(date(2026, 11, 16), 9), "Vergangenheit"),
        (clock.now() + timedelta(minutes=30), "frühestens"),
        (at(date(2026, 11, 21), 9), "geschlossen"),
        (at(date(2027, 3, 1), 9), "höchstens 90 Tage"),
    ]:
        async with rt.sessions() as session, session.begin():
            error = await refused(
                AppointmentError, svc.move(session, held.token, start, now=clock.now(), timezone=BERLIN)
            )
        assert words in error.message
    async with rt.sessions() as session, session.begin():
        moved = await svc.move(session, held.token, at(WEDNESDAY, 9), now=clock.now(), timezone=BERLIN)
        assert moved.starts_at == at(WEDNESDAY, 9)


async def test_earliest_skips_full_and_closed_days(rt: Runtime, clock: FrozenClock) -> None:
    """The earliest free start lies beyond a closure of three weeks (windows longer than the first)."""
    async with rt.sessions() as session, session.begin():
        office = await svc.office_by_key(session, "bs-walsum")
        session.add(
            m.Closure(
                office_id=office.id, first_day=date(2026, 11, 17), last_day=date(2026, 12, 8), reason="Umbau"
            )
        )
    async with rt.sessions() as session:
        office = await svc.office_by_key(session, "bs-walsum")
        chosen = await svc.services_by_keys(session, ["personalausweis"])
        first = await svc.earliest(session, office, chosen, now=clock.now(), timezone=BERLIN)
        assert first == at(date(2026, 12, 9), 8)
        # and without the closure: today, one hour from now (11:00 local)
        mitte = await svc.office_by_key(session, "bs-mitte")
        assert await svc.earliest(session, mitte, chosen, now=clock.now(), timezone=BERLIN) == at(
            date(2026, 11, 17), 11
        )
        # all offices at once: Walsum after its closure, the others today at 11:00
        anywhere = await svc.earliest_anywhere(session, chosen, now=clock.now(), timezone=BERLIN)
        assert [(o.key, t) for o, t in anywhere if o.key == "bs-walsum"] == [("bs-walsum", first)]
        assert len(anywhere) == 4
        assert anywhere[0][1] == at(date(2026, 11, 17), 11)
        assert [t for _, t in anywhere] == sorted(t for _, t in anywhere)
        # nothing within the horizon: None
        everything = m.Closure(
            office_id=office.id, first_day=date(2026, 11, 17), last_day=date(2027, 6, 1), reason="zu"
        )
        session.add(everything)
        await session.flush()
        assert await svc.earliest(session, office, chosen, now=clock.now(), timezone=BERLIN) is None
        anywhere = await svc.earliest_anywhere(session, chosen, now=clock.now(), timezone=BERLIN)
        assert "bs-walsum" not in {o.key for o, _ in anywhere}
