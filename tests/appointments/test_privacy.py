"""A citizen's bookings in the privacy center: exported with the rest, cancelled and anonymised on erasure."""

from __future__ import annotations

from sqlalchemy import select

from stadtkern.appointments import models as m
from stadtkern.appointments import services as svc
from stadtkern.core.clock import FrozenClock
from stadtkern.core.privacy.services import erase_account, personal_data
from stadtkern.web.runtime import Runtime
from tests.appointments.test_booking_rules import BERLIN, WEDNESDAY, at, book
from tests.support.accounts import make_user


async def test_bookings_are_exported_and_erased_with_the_account(rt: Runtime, clock: FrozenClock) -> None:
    user = await make_user(rt, "erika@example.org")
    mine = await book(rt, clock, start=at(WEDNESDAY, 10), user_id=user.id)
    async with rt.sessions() as session, session.begin():
        await svc.confirm(
            session,
            svc.link_token(rt.settings.secret_key, mine.booking.code),
            now=clock.now(),
            timezone=BERLIN,
        )
    other = await book(rt, clock, start=at(WEDNESDAY, 11), email="max@example.org", source="192.0.2.9")

    async with rt.sessions() as session:
        sections = await personal_data(
            session, rt.privacy_providers, user.id, secret_key=rt.settings.secret_key
        )
    exported = next(s for s in sections if s.name == "appointments").data["bookings"]
    assert [b["code"] for b in exported] == [mine.booking.code]
    assert exported[0]["email"] == "erika@example.org"
    assert exported[0]["office"] == "Bürgerservice Mitte"
    assert exported[0]["services"] == ["Wohnsitz anmelden oder ummelden"]

    async with rt.sessions() as session, session.begin():
        await erase_account(
            session,
            user.id,
            rt.privacy_providers,
            now=clock.now(),
            secret_key=rt.settings.secret_key,
            data_dir=rt.settings.data_dir,
        )
    async with rt.sessions() as session:
        erased = await session.get(m.Booking, mine.booking.id)
        kept = await session.get(m.Booking, other.booking.id)
        assert erased is not None
        assert kept is not None
        # The open appointment is given up, and nothing in it points to the person any more.
        assert erased.status == m.CANCELLED
        assert (erased.user_id, erased.name, erased.email, erased.email_hash) == (None, "", "", "")
        # Someone else's booking is untouched.
        assert (kept.status, kept.email) == (m.HELD, "max@example.org")
        assert await session.scalar(select(m.Booking.id).where(m.Booking.user_id == user.id)) is None
