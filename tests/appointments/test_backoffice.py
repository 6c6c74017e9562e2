"""The clerks' back office on both databases: scoping, check-in, no-show, walk-ins, calls, the public
call display, blocks, booking on behalf, statistics, the bot signal, settings and the audit of reads."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.appointments import backoffice as bo
from stadtkern.appointments import models as m
from stadtkern.appointments import services
from stadtkern.appointments.errors import AppointmentError
from stadtkern.core.accounts.models import User
from stadtkern.core.audit.models import AuditEntry
from stadtkern.core.clock import FrozenClock
from stadtkern.core.mail.models import OutboxMail
from stadtkern.web.runtime import Runtime
from tests.support.accounts import login_as, make_user
from tests.support.web import post_form

BERLIN = ZoneInfo("Europe/Berlin")
# START (tests/conftest.py) is Tuesday 2026-11-17, 10:00 in Duisburg.
TODAY = date(2026, 11, 17)
BASE = "/verwaltung/termine"


def at(hour: int, minute: int = 0, day: date = TODAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN)


@pytest.fixture
async def clerk(seeded: Runtime) -> User:
    return await make_user(seeded, "sachbearbeitung@example.org", roles=(("clerk", "bs-hamborn"),))


async def book(
    runtime: Runtime,
    starts_at: datetime,
    *,
    office: str = "bs-hamborn",
    service: str = "anmeldung",
    name: str = "Erika Mustermann",
    email: str = "",
    user_id: int | None = None,
    channel: str = "phone",
    source: str = "",
) -> m.Booking:
    """A confirmed booking (as a clerk would make it), or an online hold with ``channel="online"``."""
    async with runtime.sessions() as session:
        held = await services.hold(
            session,
            services.Request(
                office_key=office,
                service_keys=[service],
                starts_at=starts_at,
                email=email or f"{name.split()[0].lower()}{starts_at:%H%M}@example.org",
                name=name,
                phone="0203 12345",
                user_id=user_id,
                channel=channel,
                source=source,
            ),
            now=runtime.clock.now(),
            timezone=BERLIN,
            secret_key=runtime.settings.secret_key,
        )
        await session.commit()
    return held.booking


async def office(runtime: Runtime, key: str = "bs-hamborn") -> m.Office:
    async with runtime.sessions() as session:
        return await services.office_by_key(session, key)


# --- access ----------------------------------------------------------------------------------------


async def test_clerk_sees_only_their_offices(
    client: AsyncTestClient[Any], seeded: Runtime, clerk: User
) -> None:
    await login_as(client, seeded, clerk)
    overview = await client.get(BASE)
    assert overview.status_code == 200, overview.text
    assert "Bürgerservice Hamborn" in overview.text
    assert "Bürgerservice Mitte" not in overview.text

    assert (await client.get(f"{BASE}/bs-hamborn/{TODAY}")).status_code == 200
    assert (await client.get(f"{BASE}/bs-mitte/{TODAY}")).status_code == 403
    assert (await client.get(f"{BASE}/bs-mitte/einstellungen")).status_code == 403
    assert (await client.get(f"{BASE}/bs-mitte/sperren")).status_code == 403
    assert (await client.get(f"{BASE}/gibt-es-nicht/{TODAY}")).status_code == 404
    # Actions on another office are refused as well (the form's token comes from the clerk's own page).
    token_page = f"{BASE}/bs-hamborn/{TODAY}"
    refused = await post_form(client, f"{BASE}/bs-mitte/wartende", {"vorname": "X"}, token_from=token_page)
    assert refused.status_code == 403
    refused = await post_form(client, f"{BASE}/bs-mitte/aufrufen", {"schalter": "1"}, token_from=token_page)
    assert refused.status_code == 403
    async with seeded.sessions() as session:
        assert (await session.scalars(select(m.WalkIn))).all() == []
    statistik = await client.get(f"{BASE}/statistik")
    assert statistik.status_code == 200
    assert "Bürgerservice Mitte" not in statistik.text


async def test_citizens_and_guests_are_kept_out(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    assert (await client.get(BASE, follow_redirects=False)).status_code in (302, 303, 401)
    citizen = await make_user(seeded, "buerger@example.org")
    await login_as(client, seeded, citizen)
    assert (await client.get(BASE)).status_code == 403


async def test_admin_sees_every_office(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    admin = await make_user(seeded, "admin@example.org", roles=(("admin", None),))
    await login_as(client, seeded, admin)
    page = await client.get(BASE)
    assert "Bürgerservice Hamborn" in page.text
    assert "Bürgerservice Mitte" in page.text
    assert (await client.get(f"{BASE}/bs-mitte/{TODAY}")).status_code == 200


# --- day view, check-in, no-show -------------------------------------------------------------------


async def test_day_view_lists_bookings_and_audits_the_read(
    client: AsyncTestClient[Any], seeded: Runtime, clerk: User
) -> None:
    citizen = await make_user(seeded, "erika@example.org")
    await book(seeded, at(11, 30), user_id=citizen.id, email="erika@example.org")
    await book(seeded, at(12, 0), name="Max Muster")
    await login_as(client, seeded, clerk)
    page = await client.get(f"{BASE}/bs-hamborn/{TODAY}")
    assert page.status_code == 200
    assert "Erika Mustermann" in page.text
    assert "Max Muster" in page.text
    assert "Wohnsitz anmelden" in page.text
    assert 'rel="next"' in page.text
    assert f"{BASE}/bs-hamborn/2026-11-18" in page.text
    assert "heute" in page.text
    async with seeded.sessions() as session:
        entries = (await session.scalars(select(AuditEntry).where(AuditEntry.actor_id == clerk.id))).all()
    targets = {(e.action, e.target, e.subject_id) for e in entries}
    assert ("personal_data.read", "termine/bs-hamborn/2026-11-17", None) in targets
    # The citizen with an account sees the read in the privacy center.
    assert ("personal_data.read", "termine/bs-hamborn/2026-11-17", citizen.id) in targets


async def test_check_in_by_code_gives_call_numbers(
    client: AsyncTestClient[Any], seeded: Runtime, clerk: User, clock: FrozenClock
) -> None:
    first = await book(seeded, at(11, 30))
    second = await book(seeded, at(12, 0), name="Max Muster")
    clock.set(at(11, 20))
    await login_as(client, seeded, clerk)
    day = f"{BASE}/bs-hamborn/{TODAY}"
    # A scanner may type lower case or leave out the dash.
    response = await post_form(
        client, f"{BASE}/bs-hamborn/einchecken", {"code": first.code.lower().replace("-", "")}, token_from=day
    )
    assert response.status_code in (302, 303), response.text
    assert "nummer=T1" in response.headers["location"]
    response = await post_form(client, f"{BASE}/bs-hamborn/einchecken", {"code": second.code}, token_from=day)
    assert "nummer=T2" in response.headers["location"]
    # Twice is harmless.
    response = await post_form(client, f"{BASE}/bs-hamborn/einchecken", {"code": first.code}, token_from=day)
    assert "nummer=T1" in response.headers["location"]
    async with seeded.sessions() as session:
        row = await session.get(m.Booking, first.id)
        assert row is not None
        assert row.status == m.CHECKED_IN
        assert row.call_number == "T1"
        assert row.checked_in_at is not None
        assert bo.as_utc(row.checked_in_at) == clock.now()
    page = await client.get(response.headers["location"])
    assert "Eingecheckt. Aufrufnummer: T1" in page.text

    unknown = await post_form(client, f"{BASE}/bs-hamborn/einchecken", {"code": "ZZZZ-ZZZZ"}, token_from=day)
    assert unknown.status_code == 400
    assert "keinen Termin" in unknown.text
    assert 'aria-invalid="true"' in unknown.text


async def test_concurrent_check_ins_get_distinct_numbers(seeded: Runtime, clock: FrozenClock) -> None:
    bookings = [await book(seeded, at(11, 0) + timedelta(minutes=15 * i), name=f"P{i} X") for i in range(6)]
    hamborn = await office(seeded)
    clock.set(at(10, 50))

    async def one(code: str) -> str:
        async with seeded.sessions() as session:
            booking = await bo.check_in(session, hamborn, code, now=clock.now(), timezone=BERLIN)
            await session.commit()
            return booking.call_number or ""

    numbers = await asyncio.gather(*(one(b.code) for b in bookings))
    assert sorted(numbers, key=lambda n: int(n[1:])) == [f"T{i}" for i in range(1, 7)]


def test_codes_as_typed_or_scanned() -> None:
    assert bo.normalise_code(" abcd-efgh ") == "ABCD-EFGH"
    assert bo.normalise_code("ABCDEFGH") == "ABCD-EFGH"
    assert bo.normalise_code("abcd efgh") == "ABCD-EFGH"
    assert bo.normalise_code("ABCD-EFG") == "ABCD-EFG"  # too short: not found, said as typed


async def test_check_in_refuses_other_days_and_other_offices(seeded: Runtime, clock: FrozenClock) -> None:
    tomorrow = await book(seeded, at(9, 0, TODAY + timedelta(days=1)))
    elsewhere = await book(seeded, at(11, 30), office="bs-mitte")
    hamborn = await office(seeded)
    async with seeded.sessions() as session:
        with pytest.raises(AppointmentError, match="nicht heute"):
            await bo.check_in(session, hamborn, tomorrow.code, now=clock.now(), timezone=BERLIN)
        with pytest.raises(AppointmentError, match="keinen Termin"):
            await bo.check_in(session, hamborn, elsewhere.code, now=clock.now(), timezone=BERLIN)


async def test_no_show_only_after_the_start(
    client: AsyncTestClient[Any], seeded: Runtime, clerk: User, clock: FrozenClock
) -> None:
    booking = await book(seeded, at(11, 30))
    await login_as(client, seeded, clerk)
    day = f"{BASE}/bs-hamborn/{TODAY}"
    early = await post_form(
        client, f"{BASE}/bs-hamborn/nicht-erschienen/{booking.id}", {"tag": str(TODAY)}, token_from=day
    )
    assert early.status_code == 400
    assert "noch nicht begonnen" in early.text
    clock.set(at(11, 45))
    page = await client.get(day)
    assert f"/nicht-erschienen/{booking.id}" in page.text
    marked = await post_form(
        client, f"{BASE}/bs-hamborn/nicht-erschienen/{booking.id}", {"tag": str(TODAY)}, token_from=day
    )
    assert marked.status_code in (302, 303)
    async with seeded.sessions() as session:
        row = await session.get(m.Booking, booking.id)
        assert row is not None
        assert row.status == m.NO_SHOW


# --- walk-ins and calls ----------------------------------------------------------------------------


async def test_walk_in_numbers_are_unique_and_sequential(seeded: Runtime, clock: FrozenClock) -> None:
    hamborn = await office(seeded)
    mitte = await office(seeded, "bs-mitte")

    async def one(target: m.Office) -> str:
        async with seeded.sessions() as session:
            walk_in = await bo.register_walk_in(
                session, target, name="", service_key="anmeldung", now=clock.now(), timezone=BERLIN
            )
            return walk_in.call_number

    numbers = await asyncio.gather(*(one(hamborn) for _ in range(8)))
    assert sorted(numbers, key=lambda n: int(n[1:])) == [f"W{i}" for i in range(1, 9)]
    assert await one(mitte) == "W1"  # per office
    clock.advance(timedelta(days=1))
    assert await one(hamborn) == "W1"  # and per day


async def test_walk_in_retries_a_taken_number(seeded: Runtime, clock: FrozenClock) -> None:
    """A number inserted behind the reader's back (another worker) makes the insert retry."""
    hamborn = await office(seeded)
    async with seeded.sessions() as session:
        session.add(
            m.WalkIn(
                office_id=hamborn.id,
                day=TODAY,
                number=1,
                call_number="W1",
                status="waiting",
                arrived_at=clock.now(),
            )
        )
        await session.commit()
    async with seeded.sessions() as session:
        walk_in = await bo.register_walk_in(
            session, hamborn, name="Ali", service_key="", now=clock.now(), timezone=BERLIN
        )
    assert walk_in.call_number == "W2"


async def test_call_next_order(seeded: Runtime, clock: FrozenClock) -> None:
    early = await book(seeded, at(11, 30))
    later = await book(seeded, at(12, 0), name="Max Muster")
    hamborn = await office(seeded)
    clock.set(at(11, 10))
    async with seeded.sessions() as session:
        await bo.check_in(session, hamborn, later.code, now=clock.now(), timezone=BERLIN)
        await session.commit()
    async with seeded.sessions() as session:
        await bo.register_walk_in(
            session, hamborn, name="Ali", service_key="", now=clock.now(), timezone=BERLIN
        )
    clock.advance(timedelta(minutes=1))
    async with seeded.sessions() as session:
        await bo.register_walk_in(
            session, hamborn, name="Bea", service_key="", now=clock.now(), timezone=BERLIN
        )
    clock.set(at(11, 20))
    async with seeded.sessions() as session:
        await bo.check_in(session, hamborn, early.code, now=clock.now(), timezone=BERLIN)
        await session.commit()

    async def call() -> str | None:
        async with seeded.sessions() as session:
            result = await bo.call_next(session, hamborn, "Schalter 1", now=clock.now(), timezone=BERLIN)
            await session.commit()
        return result.call_number if result else None

    clock.set(at(11, 27))
    # 11:30 is due (within five minutes); 12:00 is checked in early and waits behind the walk-ins.
    assert await call() == "T2"
    assert await call() == "W1"
    assert await call() == "W2"
    assert await call() == "T1"
    assert await call() is None
    async with seeded.sessions() as session:
        row = await session.get(m.Booking, early.id)
        assert row is not None
        assert row.status == m.CALLED
        assert row.counter == "Schalter 1"
        assert row.called_at is not None


async def test_call_display_shows_numbers_and_no_names(
    client: AsyncTestClient[Any], seeded: Runtime, clerk: User, clock: FrozenClock
) -> None:
    booking = await book(seeded, at(11, 30), name="Erika Mustermann")
    clock.set(at(11, 25))
    await login_as(client, seeded, clerk)
    day = f"{BASE}/bs-hamborn/{TODAY}"
    await post_form(client, f"{BASE}/bs-hamborn/einchecken", {"code": booking.code}, token_from=day)
    await post_form(client, f"{BASE}/bs-hamborn/wartende", {"vorname": "Zoran"}, token_from=day)
    called = await post_form(
        client, f"{BASE}/bs-hamborn/aufrufen", {"schalter": "Schalter 3"}, token_from=day
    )
    assert "nummer=T1" in called.headers["location"]
    # The counter is remembered for the next call.
    assert 'value="Schalter 3"' in (await client.get(day)).text

    client.cookies.clear()
    display = await client.get("/termine/aufruf/bs-hamborn")
    assert display.status_code == 200
    assert "T1" in display.text
    assert "Schalter 3" in display.text
    assert 'aria-live="polite"' in display.text
    assert 'http-equiv="refresh"' in display.text
    for private in ("Erika", "Mustermann", "Zoran", booking.code):
        assert private not in display.text
    fragment = await client.get("/termine/aufruf/bs-hamborn/liste")
    assert "T1" in fragment.text
    assert "hx-trigger" in fragment.text
    version = fragment.text.split("stand=")[1].split('"')[0]
    unchanged = await client.get("/termine/aufruf/bs-hamborn/liste", params={"stand": version})
    assert unchanged.status_code == 204
    # Yesterday's calls are not shown.
    clock.advance(timedelta(days=1))
    assert "T1" not in (await client.get("/termine/aufruf/bs-hamborn")).text


# --- blocks ----------------------------------------------------------------------------------------


async def test_blocks_reduce_free_times_and_show_affected_bookings(
    client: AsyncTestClient[Any], seeded: Runtime, clerk: User, clock: FrozenClock
) -> None:
    wednesday = TODAY + timedelta(days=1)
    affected = await book(seeded, at(9, 0, wednesday), name="Berta Betroffen")
    hamborn = await office(seeded)

    async def free() -> list[datetime]:
        async with seeded.sessions() as session:
            picked = await services.services_by_keys(session, ["anmeldung"])
            return await services.free_times(
                session, hamborn, picked, first_day=wednesday, days=1, now=clock.now(), timezone=BERLIN
            )

    before = await free()
    assert at(9, 0, wednesday) in before
    assert at(10, 0, wednesday) in before
    await login_as(client, seeded, clerk)
    page = f"{BASE}/bs-hamborn/sperren"
    response = await post_form(
        client,
        page,
        {"tag": str(wednesday), "von": "08:00", "bis": "11:00", "umfang": "alle", "grund": "Schulung"},
    )
    assert response.status_code == 200, response.text
    assert "Berta Betroffen" in response.text
    assert "0203 12345" in response.text
    after = await free()
    assert not [t for t in after if at(8, 0, wednesday) <= t < at(11, 0, wednesday)]
    assert at(11, 0, wednesday) in after
    # Still booked: the clerk contacts the person.
    async with seeded.sessions() as session:
        row = await session.get(m.Booking, affected.id)
        assert row is not None
        assert row.status == m.CONFIRMED
        block = await session.scalar(select(m.Block))
        assert block is not None
        assert block.counters is None
        assert block.created_by == clerk.id
        reads = (
            await session.scalars(select(AuditEntry).where(AuditEntry.target == "termine/bs-hamborn/sperren"))
        ).all()
        assert reads

    listing = await client.get(page)
    assert "Schulung" in listing.text
    bad = await post_form(client, page, {"tag": str(wednesday), "von": "11:00", "bis": "10:00", "grund": "x"})
    assert bad.status_code == 400
    assert "Ende muss nach dem Beginn" in bad.text
    too_many = await post_form(
        client,
        page,
        {
            "tag": str(wednesday),
            "von": "12:00",
            "bis": "13:00",
            "umfang": "teil",
            "schalter": "9",
            "grund": "krank",
        },
    )
    assert too_many.status_code == 400
    assert "zwischen 1 und 3 Schalter" in too_many.text

    removed = await post_form(client, f"{page}/{block.id}/aufheben", {}, token_from=page)
    assert removed.status_code in (302, 303)
    assert at(10, 0, wednesday) in await free()


# --- booking on behalf -----------------------------------------------------------------------------


async def test_booking_on_behalf_is_confirmed_at_once(
    client: AsyncTestClient[Any], seeded: Runtime, clerk: User
) -> None:
    await login_as(client, seeded, clerk)
    wednesday = TODAY + timedelta(days=1)
    form_page = f"{BASE}/bs-hamborn/buchen?leistungen=anmeldung&tag={wednesday}"
    page = await client.get(form_page)
    assert page.status_code == 200
    start = at(9, 0, wednesday).astimezone(ZoneInfo("UTC")).isoformat()
    saturday = await client.get(f"{BASE}/bs-hamborn/buchen?leistungen=anmeldung&tag=2026-11-21")
    assert "keine Zeit frei" in saturday.text
    assert "Nächster freier Termin: 23.11.2026 um 08:00 Uhr" in saturday.text
    assert start in page.text
    data = {
        "leistungen": "anmeldung",
        "tag": str(wednesday),
        "zeit": start,
        "name": "Gerda Anruferin",
        "telefon": "0203 55555",
        "email": "",
        "kanal": "phone",
        "request_key": "abc123",
    }
    response = await post_form(client, f"{BASE}/bs-hamborn/buchen", data, token_from=form_page)
    assert response.status_code == 200, response.text
    assert "Der Termin ist bestätigt" in response.text
    async with seeded.sessions() as session:
        booking = await session.scalar(select(m.Booking).where(m.Booking.name == "Gerda Anruferin"))
    assert booking is not None
    assert booking.status == m.CONFIRMED
    assert booking.channel == "phone"
    assert booking.created_by == clerk.id
    assert booking.code in response.text
    # A double submit books once.
    again = await post_form(client, f"{BASE}/bs-hamborn/buchen", data, token_from=form_page)
    assert again.status_code == 200
    async with seeded.sessions() as session:
        assert len((await session.scalars(select(m.Booking))).all()) == 1

    # With an address, the confirmation mail (code, QR code, calendar entry) goes out.
    mailed = await post_form(
        client,
        f"{BASE}/bs-hamborn/buchen",
        {
            **data,
            "zeit": at(10, 0, wednesday).astimezone(ZoneInfo("UTC")).isoformat(),
            "email": "gerda@example.org",
            "request_key": "mail1",
        },
        token_from=form_page,
    )
    assert mailed.status_code == 200, mailed.text
    assert "per E-Mail unterwegs" in mailed.text
    async with seeded.sessions() as session:
        outbox = (await session.scalars(select(OutboxMail))).all()
    assert [mail.to_address for mail in outbox] == ["gerda@example.org"]

    missing = await post_form(
        client,
        f"{BASE}/bs-hamborn/buchen",
        {**data, "telefon": "", "request_key": "other"},
        token_from=form_page,
    )
    assert missing.status_code == 400
    assert "Telefonnummer oder eine E-Mail-Adresse" in missing.text
    taken = await post_form(
        client,
        f"{BASE}/bs-hamborn/buchen",
        {**data, "leistungen": "kfz-zulassung", "request_key": "third"},
        token_from=form_page,
    )
    assert taken.status_code in (400, 409)
    assert "nicht angeboten" in taken.text


async def test_phone_bookings_without_email_are_not_one_person(
    seeded: Runtime, clerk: User, clock: FrozenClock
) -> None:
    """Limits per person count email addresses and accounts; two callers without an address are two people."""
    hamborn = await office(seeded)
    wednesday = TODAY + timedelta(days=1)
    for hour, name in ((9, "Anna Anrufer"), (10, "Bernd Anrufer")):
        async with seeded.sessions() as session:
            held = await bo.book_on_behalf(
                session,
                clerk,
                hamborn,
                service_keys=["anmeldung"],
                starts_at=at(hour, 0, wednesday),
                name=name,
                phone="0203 1",
                email="",
                channel="phone",
                request_key=None,
                now=clock.now(),
                timezone=BERLIN,
                secret_key=seeded.settings.secret_key,
            )
            await session.commit()
        assert held.booking.status == m.CONFIRMED


# --- statistics and the bot signal -----------------------------------------------------------------


async def test_statistics_for_a_known_data_set(seeded: Runtime, clock: FrozenClock) -> None:
    hamborn = await office(seeded)
    b1 = await book(seeded, at(11, 0), name="A One")
    b2 = await book(seeded, at(11, 30), name="B Two")
    b3 = await book(seeded, at(12, 0), name="C Three", service="personalausweis")
    b4 = await book(seeded, at(12, 30), name="D Four")
    async with seeded.sessions() as session:
        row = await session.get(m.Booking, b4.id)
        assert row is not None
        row.status = m.CANCELLED
        await session.commit()

    async def step(when: datetime, action: Any) -> None:
        clock.set(when)
        async with seeded.sessions() as session:
            await action(session)
            await session.commit()

    await step(at(10, 55), lambda s: bo.check_in(s, hamborn, b1.code, now=clock.now(), timezone=BERLIN))
    await step(at(11, 5), lambda s: bo.call_next(s, hamborn, "1", now=clock.now(), timezone=BERLIN))  # 10 min
    await step(at(11, 25), lambda s: bo.check_in(s, hamborn, b2.code, now=clock.now(), timezone=BERLIN))
    await step(
        at(11, 55), lambda s: bo.call_next(s, hamborn, "1", now=clock.now(), timezone=BERLIN)
    )  # 30 min
    await step(
        at(12, 0),
        lambda s: bo.register_walk_in(s, hamborn, name="", service_key="", now=clock.now(), timezone=BERLIN),
    )
    await step(
        at(12, 20), lambda s: bo.call_next(s, hamborn, "2", now=clock.now(), timezone=BERLIN)
    )  # 20 min
    await step(at(12, 30), lambda s: bo.mark_no_show(s, hamborn, b3.id, now=clock.now()))
    clock.set(at(15, 0))
    async with seeded.sessions() as session:
        stats = await bo.statistics(
            session, [hamborn], first_day=TODAY, last_day=TODAY, now=clock.now(), timezone=BERLIN
        )
    total = stats.by_office[hamborn.id]
    assert (total.bookings, total.cancelled, total.no_show, total.due) == (4, 1, 1, 3)
    assert total.no_show_rate == pytest.approx(1 / 3)
    assert total.average_wait == pytest.approx(20.0)
    assert total.p90_wait == pytest.approx(30.0)
    services_ = {s.key: s.id for s in (await _services(seeded))}
    anmeldung = stats.by_service[(hamborn.id, services_["anmeldung"])]
    assert (anmeldung.bookings, anmeldung.cancelled, anmeldung.no_show) == (3, 1, 0)
    assert anmeldung.average_wait == pytest.approx(20.0)
    ausweis = stats.by_service[(hamborn.id, services_["personalausweis"])]
    assert ausweis.no_show_rate == 1.0
    assert ausweis.average_wait is None
    walk_ins = stats.by_service[(hamborn.id, None)]
    assert walk_ins.waits == [pytest.approx(20.0)]
    assert bo.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9


async def test_statistics_page_renders_charts_and_tables(
    client: AsyncTestClient[Any], seeded: Runtime, clerk: User
) -> None:
    await book(seeded, at(11, 0))
    await login_as(client, seeded, clerk)
    page = await client.get(f"{BASE}/statistik", params={"von": str(TODAY), "bis": str(TODAY)})
    assert page.status_code == 200
    assert "<svg" in page.text
    assert 'role="img"' in page.text
    assert "<table" in page.text
    assert "Bürgerservice Hamborn" in page.text
    bad = await client.get(f"{BASE}/statistik", params={"von": "2026-11-20", "bis": "2026-11-01"})
    assert bad.status_code == 400
    assert "nach dem Anfang" in bad.text


async def test_suspicious_sources(
    client: AsyncTestClient[Any], seeded: Runtime, clerk: User, clock: FrozenClock
) -> None:
    wednesday = TODAY + timedelta(days=1)
    for i in range(services.SUSPICIOUS_PER_DAY + 1):
        await book(
            seeded,
            at(8, 0, wednesday) + timedelta(minutes=20 * i),
            channel="online",
            source="203.0.113.7",
            name=f"Bot{i} Person",
            email=f"bot{i}@example.org",
        )
    await book(
        seeded,
        at(15, 0, TODAY + timedelta(days=1)),
        channel="online",
        source="198.51.100.1",
        email="ok@example.org",
    )
    hamborn = await office(seeded)
    async with seeded.sessions() as session:
        flagged = await bo.suspicious_sources(session, [hamborn], now=clock.now())
    expected = services.source_hash(seeded.settings.secret_key, "203.0.113.7")
    assert [(s.source_hash, s.bookings) for s in flagged] == [(expected, services.SUSPICIOUS_PER_DAY + 1)]
    await login_as(client, seeded, clerk)
    page = await client.get(BASE)
    assert "Auffällige Quellen" in page.text
    assert expected[:10] in page.text
    assert "203.0.113.7" not in page.text


# --- settings --------------------------------------------------------------------------------------


async def test_settings_validate_and_save(client: AsyncTestClient[Any], seeded: Runtime, clerk: User) -> None:
    await login_as(client, seeded, clerk)
    page = f"{BASE}/bs-hamborn/einstellungen"
    shown = await client.get(page)
    assert shown.status_code == 200
    assert 'value="08:00-16:00"' in shown.text
    hours = {f"tag{d}": "08:00-12:00, 13:00-16:00" if d < 5 else "" for d in range(7)}
    bad = await post_form(client, f"{page}/zeiten", {**hours, "tag2": "12:00-08:00"}, token_from=page)
    assert bad.status_code == 400
    assert "Ende nach dem Beginn" in bad.text
    overlap = await post_form(
        client, f"{page}/zeiten", {**hours, "tag2": "08:00-12:00, 11:00-13:00"}, token_from=page
    )
    assert overlap.status_code == 400
    assert "überschneiden" in overlap.text
    saved = await post_form(client, f"{page}/zeiten", hours, token_from=page)
    assert saved.status_code in (302, 303)
    hamborn = await office(seeded)
    async with seeded.sessions() as session:
        assert (await bo.opening_hours(session, hamborn))[0] == [(time(8), time(12)), (time(13), time(16))]

    counters = {
        "counters": "2",
        "dienst_anmeldung": "3",
        "dienst_personalausweis": "2",
        "dienst_reisepass": "1",
        "dienst_fuehrungszeugnis": "1",
    }
    too_many = await post_form(client, f"{page}/schalter", counters, token_from=page)
    assert too_many.status_code == 400
    assert "höchstens 2 Schalter" in too_many.text
    negative = await post_form(client, f"{page}/schalter", {**counters, "counters": "-1"}, token_from=page)
    assert negative.status_code == 400
    assert "nicht negativ" in negative.text
    ok = await post_form(client, f"{page}/schalter", {**counters, "dienst_anmeldung": "2"}, token_from=page)
    assert ok.status_code in (302, 303), ok.text
    hamborn = await office(seeded)
    assert hamborn.counters == 2

    closure = {"first_day": "2026-12-24", "last_day": "2026-12-23", "closure_reason": "Betriebsfeier"}
    wrong = await post_form(client, f"{page}/schliessungen", closure, token_from=page)
    assert wrong.status_code == 400
    assert "nicht vor dem ersten" in wrong.text
    added = await post_form(
        client, f"{page}/schliessungen", {**closure, "last_day": "2026-12-24"}, token_from=page
    )
    assert added.status_code in (302, 303)
    assert "Betriebsfeier" in (await client.get(page)).text
    mitte = await post_form(client, f"{BASE}/bs-mitte/einstellungen/schalter", counters, token_from=page)
    assert mitte.status_code == 403


async def _services(runtime: Runtime) -> list[m.Service]:
    async with runtime.sessions() as session:
        return list((await session.scalars(select(m.Service))).all())
