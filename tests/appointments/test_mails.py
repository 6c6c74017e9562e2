"""The booking mails: texts, links, the QR code (PNG) and the iCal attachment (REQUEST, update, CANCEL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar

from stadtkern.appointments import mails, services, workflow
from stadtkern.appointments import models as m
from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.web.runtime import Runtime
from tests.support.web import links_in, mail_text, read_mails

BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY_9 = datetime(2026, 11, 18, 9, 0, tzinfo=BERLIN)
THURSDAY_14 = datetime(2026, 11, 19, 14, 0, tzinfo=BERLIN)
BASE = "https://termine.stadt.example"


async def hold(rt: Runtime, email: str = "erika@example.org") -> tuple[m.Booking, str]:
    request = services.Request(
        office_key="bs-mitte",
        service_keys=["personalausweis", "anmeldung"],
        starts_at=WEDNESDAY_9,
        email=email,
        name="Erika Mustermann",
        source="192.0.2.1",
    )
    async with rt.sessions() as session, session.begin():
        held = await workflow.book(session, request, runtime=rt, now=rt.clock.now(), base_url=BASE)
    assert held.token is not None
    return held.booking, held.token


async def delivered(jobs: JobRunner, data_dir: Path) -> list[EmailMessage]:
    await jobs.run_until_idle()
    return read_mails(data_dir / "mail")


def attachment(message: EmailMessage, content_type: str) -> bytes:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == content_type]
    # The raw bytes: iCalendar is UTF-8 (RFC 5545), the MIME part names no charset.
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data


def event_of(message: EmailMessage) -> tuple[icalendar.Calendar, icalendar.Component]:
    calendar = icalendar.Calendar.from_ical(attachment(message, "text/calendar"))
    [event] = calendar.walk("VEVENT")
    return calendar, event


async def test_hold_mail_asks_for_confirmation(seeded: Runtime, jobs: JobRunner, data_dir: Path) -> None:
    booking, token = await hold(seeded)
    [message] = await delivered(jobs, data_dir)
    assert message["To"] == "erika@example.org"
    assert message["Subject"] == "Bitte bestätigen Sie Ihren Termin"
    text = mail_text(message)
    assert "Guten Tag Erika Mustermann," in text
    assert "Mittwoch, 18. November 2026, 09:00 bis 09:35 Uhr" in text
    assert f"innerhalb von {services.HOLD_MINUTES} Minuten (bis 10:15 Uhr)" in text
    assert links_in(message) == [f"{BASE}/termine/b/{token}/bestaetigen"]
    assert booking.code not in text  # the code counts only once the booking is confirmed
    assert list(message.iter_attachments()) == []


async def test_confirmation_has_code_documents_qr_and_ical(
    seeded: Runtime, jobs: JobRunner, data_dir: Path
) -> None:
    booking, token = await hold(seeded)
    async with seeded.sessions() as session, session.begin():
        confirmed, fresh = await workflow.confirm(
            session, token, runtime=seeded, now=seeded.clock.now(), base_url=BASE
        )
    assert fresh
    message = (await delivered(jobs, data_dir))[-1]
    assert message["Subject"] == "Ihr Termin ist bestätigt: Mittwoch, 18. November 2026, 09:00 Uhr"
    text = mail_text(message)
    assert f"Buchungscode: {booking.code}" in text
    assert "Bürgerservice Mitte, Sonnenwall 77-79, 47051 Duisburg" in text
    assert "Personalausweis beantragen (20 Minuten; Gebühr: 37,00 € ab 24 Jahren" in text
    assert "Wohnsitz anmelden oder ummelden (15 Minuten; Gebühr: gebührenfrei)" in text
    assert "- Wohnungsgeberbestätigung des Vermieters" in text
    assert f"{BASE}/termine/b/{token}" in links_in(message)
    assert "0203 283-0" in text  # the human path

    png = attachment(message, "image/png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # The picture is segno's QR encoding of the booking code (what the clerk's scanner reads).
    assert png == mails.qr_png(booking.code)

    calendar, event = event_of(message)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{booking.code}@termine.stadt.example"
    assert event["SEQUENCE"] == 0
    assert event["DTSTART"].to_ical() == b"20261118T080000Z"  # UTC
    assert event.decoded("DTEND") == WEDNESDAY_9 + timedelta(minutes=35)
    assert "Personalausweis beantragen" in str(event["SUMMARY"])
    assert str(event["LOCATION"]) == "Bürgerservice Mitte, Sonnenwall 77-79, 47051 Duisburg"
    assert booking.code in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    assert confirmed.status == m.CONFIRMED


async def test_move_sends_update_and_cancel_sends_ical_cancel(
    seeded: Runtime, jobs: JobRunner, data_dir: Path
) -> None:
    booking, token = await hold(seeded)
    now = seeded.clock.now()
    async with seeded.sessions() as session, session.begin():
        await workflow.confirm(session, token, runtime=seeded, now=now, base_url=BASE)
    async with seeded.sessions() as session, session.begin():
        moved = await workflow.move(session, token, THURSDAY_14, runtime=seeded, now=now, base_url=BASE)
    assert moved.sequence == 1
    update = (await delivered(jobs, data_dir))[-1]
    assert update["Subject"] == "Ihr Termin wurde verschoben: Donnerstag, 19. November 2026, 14:00 Uhr"
    calendar, event = event_of(update)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == THURSDAY_14.astimezone(UTC)
    assert str(event["UID"]) == f"{booking.code}@termine.stadt.example"

    async with seeded.sessions() as session, session.begin():
        await workflow.cancel(session, token, runtime=seeded, now=now, base_url=BASE)
    # Cancelling twice sends one mail.
    async with seeded.sessions() as session, session.begin():
        await workflow.cancel(session, token, runtime=seeded, now=now, base_url=BASE)
    messages = await delivered(jobs, data_dir)
    assert len(messages) == 4  # hold, confirmation, update, cancellation
    cancellation = messages[-1]
    assert cancellation["Subject"].startswith("Ihr Termin ist abgesagt: Donnerstag, 19. November 2026")
    calendar, event = event_of(cancellation)
    assert str(calendar["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert event.decoded("SEQUENCE") >= 1
    assert str(event["UID"]) == f"{booking.code}@termine.stadt.example"


async def test_reminder_goes_out_the_day_before_with_the_manage_link(
    seeded: Runtime, clock: FrozenClock, jobs: JobRunner, data_dir: Path
) -> None:
    _booking, token = await hold(seeded)
    async with seeded.sessions() as session, session.begin():
        await workflow.confirm(session, token, runtime=seeded, now=clock.now(), base_url=BASE)
    assert len(await delivered(jobs, data_dir)) == 2
    # The reminder job is due at 09:00 local time the day before: Tuesday, 17 November (already past at
    # START 10:00), so book a later day for the reminder.
    later = services.Request(
        office_key="bs-mitte",
        service_keys=["reisepass"],
        starts_at=THURSDAY_14,
        email="max@example.org",
        source="192.0.2.2",
    )
    async with seeded.sessions() as session, session.begin():
        held = await workflow.book(session, later, runtime=seeded, now=clock.now(), base_url=BASE)
    assert held.token is not None
    async with seeded.sessions() as session, session.begin():
        await workflow.confirm(session, held.token, runtime=seeded, now=clock.now(), base_url=BASE)
    assert len(await delivered(jobs, data_dir)) == 4
    clock.advance(timedelta(days=1, minutes=1))  # Wednesday 10:01 local
    messages = await delivered(jobs, data_dir)
    reminders = [msg for msg in messages if msg["Subject"].startswith("Erinnerung an Ihren Termin")]
    assert len(reminders) == 1
    reminder = reminders[0]
    assert reminder["To"] == "max@example.org"
    assert reminder["Subject"] == "Erinnerung an Ihren Termin: Donnerstag, 19. November 2026, 14:00 Uhr"
    text = mail_text(reminder)
    assert held.booking.code in text
    assert "- Personalausweis oder bisheriger Reisepass" in text
    # Outside a request the link is built from the settings (STADTKERN_PUBLIC_URL, else host and port).
    manage = f"{mails.default_base_url(seeded.settings)}/termine/b/{held.token}"
    assert manage in links_in(reminder)
