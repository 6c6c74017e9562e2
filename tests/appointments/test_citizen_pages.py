"""The citizen's pages on both databases: choose → free times → book → mail → confirm → move → cancel.

Mails are read where they land in development mode (``var/mail``), after the job runner delivered them.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from httpx import Response
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.appointments import models as m
from stadtkern.appointments import services
from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.web.runtime import Runtime
from tests.support.accounts import login_as, make_user
from tests.support.web import CSRF_RE, links_in, mail_text, read_mails

BERLIN = ZoneInfo("Europe/Berlin")
# START (tests/conftest.py) is Tuesday 2026-11-17, 10:00 in Duisburg.
WEDNESDAY_9 = datetime(2026, 11, 18, 9, 0, tzinfo=BERLIN)
THURSDAY_14 = datetime(2026, 11, 19, 14, 0, tzinfo=BERLIN)
SUNDAY_10 = datetime(2026, 11, 22, 10, 0, tzinfo=BERLIN)
KEY_RE = re.compile(r'name="request_key" value="([^"]+)"')


def utc(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).isoformat()


async def open_form(
    client: AsyncTestClient[Any],
    start: datetime,
    keys: tuple[str, ...] = ("personalausweis",),
    office: str = "bs-mitte",
) -> tuple[str, dict[str, Any]]:
    """The booking form for a time: its URL and the fields a browser would send back."""
    query = "&".join(f"leistung={k}" for k in keys)
    url = f"/termine/buchen?{query}&standort={office}&beginn={utc(start).replace('+', '%2B')}"
    page = await client.get(url)
    assert page.status_code == 200, page.text
    csrf = CSRF_RE.search(page.text)
    key = KEY_RE.search(page.text)
    assert csrf
    assert key
    return url, {
        "_csrf_token": csrf.group(1),
        "leistung": list(keys),
        "standort": office,
        "beginn": utc(start),
        "request_key": key.group(1),
    }


async def book(
    client: AsyncTestClient[Any], start: datetime, email: str, **extra: Any
) -> tuple[Response, dict[str, Any]]:
    _url, fields = await open_form(client, start, **extra)
    response = await client.post("/termine/buchen", data={**fields, "email": email, "name": "Erika"})
    return response, fields


async def mails_after_jobs(jobs: JobRunner, data_dir: Path) -> list[EmailMessage]:
    await jobs.run_until_idle()
    return read_mails(data_dir / "mail")


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def calendar_of(message: EmailMessage) -> icalendar.Calendar:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return icalendar.Calendar.from_ical(data)


async def booking_count(rt: Runtime) -> int:
    async with rt.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(m.Booking)) or 0)


async def post_with_csrf(
    client: AsyncTestClient[Any], path: str, page: str, data: dict[str, str]
) -> Response:
    token = CSRF_RE.search((await client.get(page)).text)
    assert token
    return await client.post(path, data={**data, "_csrf_token": token.group(1)}, follow_redirects=False)


async def test_choose_services_place_and_free_times(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    start = await client.get("/termine")
    assert start.status_code == 200
    assert "Personalausweis beantragen" in start.text
    assert "Fahrzeug zulassen" in start.text
    assert "0203 283-0" in start.text
    assert "telefonisch oder direkt am Schalter" in start.text

    place = await client.get("/termine/ort?leistung=personalausweis&leistung=anmeldung")
    assert place.status_code == 200
    assert "35 Minuten" in place.text  # 20 + 15
    assert "Bürgerservice Walsum" in place.text  # offers both
    assert "Straßenverkehrsamt" not in place.text  # offers neither
    assert "Meiderich/Beeck" in place.text
    assert "Duisburg Hauptbahnhof" in place.text

    week = await client.get("/termine/zeiten?leistung=personalausweis&ort=standort&standort=bs-mitte")
    assert week.status_code == 200
    assert "Mittwoch, 18. November 2026" in week.text
    assert f'value="{utc(WEDNESDAY_9)}"' in week.text
    # Not before the lead time: 10:00 now, so nothing before 11:00 today.
    assert f'value="{utc(datetime(2026, 11, 17, 10, 30, tzinfo=BERLIN))}"' not in week.text
    assert f'value="{utc(datetime(2026, 11, 17, 11, 0, tzinfo=BERLIN))}"' in week.text
    following = await client.get(
        "/termine/zeiten?leistung=personalausweis&ort=standort&standort=bs-mitte&woche=2026-11-23"
    )
    assert "Montag, 23. November 2026" in following.text
    assert "Vorherige Woche" in following.text

    earliest = await client.get("/termine/zeiten?leistung=personalausweis&ort=frueh")
    assert earliest.status_code == 200
    assert earliest.text.count("Diesen Termin wählen") == 4  # the four offices offering it

    near = await client.get("/termine/zeiten?leistung=personalausweis&ort=naehe&naehe=bezirk:100")
    assert near.status_code == 200
    names = re.findall(r"<h2>(Bürgerservice [^<]+)</h2>", near.text)
    assert names[0] == "Bürgerservice Walsum"
    by_location = await client.get(
        "/termine/zeiten?leistung=personalausweis&ort=naehe&lon=6.7145&lat=51.3975"
    )
    assert re.findall(r"<h2>(Bürgerservice [^<]+)</h2>", by_location.text)[0] == "Bürgerservice Rheinhausen"
    stop = await client.get("/termine/zeiten?leistung=personalausweis&ort=naehe&naehe=halt:2")
    assert re.findall(r"<h2>(Bürgerservice [^<]+)</h2>", stop.text)[0] == "Bürgerservice Hamborn"


async def test_book_confirm_move_cancel(
    client: AsyncTestClient[Any], seeded: Runtime, jobs: JobRunner, data_dir: Path
) -> None:
    response, _fields = await book(client, WEDNESDAY_9, "erika@example.org")
    assert response.status_code == 200, response.text
    assert "Bitte prüfen Sie Ihr Postfach" in response.text
    assert f"{services.HOLD_MINUTES} Minuten" in response.text

    [hold_mail] = await mails_after_jobs(jobs, data_dir)
    assert hold_mail["Subject"] == "Bitte bestätigen Sie Ihren Termin"
    assert f"innerhalb von {services.HOLD_MINUTES} Minuten" in mail_text(hold_mail)
    [confirm_link] = [link for link in links_in(hold_mail) if link.endswith("/bestaetigen")]
    assert confirm_link.startswith("http://testserver.local/termine/b/")
    confirm_path = path_of(confirm_link)
    token = confirm_path.split("/")[3]

    # A GET (a mail scanner, a preview) shows the booking but does not confirm it.
    shown = await client.get(confirm_path)
    assert shown.status_code == 200
    assert "Termin verbindlich bestätigen" in shown.text
    async with seeded.sessions() as session:
        booking = await services.booking_by_token(session, token)
        assert booking.status == m.HELD

    confirmed = await post_with_csrf(client, confirm_path, confirm_path, {})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == f"/termine/b/{token}?hinweis=bestaetigt"
    manage = await client.get(confirmed.headers["location"])
    assert manage.status_code == 200
    assert "Ihr Termin ist bestätigt" in manage.text
    assert booking.code in manage.text
    assert "<svg" in manage.text  # the QR code

    mails = await mails_after_jobs(jobs, data_dir)
    assert len(mails) == 2
    confirmation = mails[1]
    assert confirmation["Subject"].startswith(
        "Ihr Termin ist bestätigt: Mittwoch, 18. November 2026, 09:00 Uhr"
    )
    text = mail_text(confirmation)
    assert booking.code in text
    assert "Sonnenwall 77-79" in text
    assert "ein aktuelles biometrisches Lichtbild" in text
    assert "37,00 €" in text
    assert f"http://testserver.local/termine/b/{token}" in links_in(confirmation)
    names = {part.get_filename() for part in confirmation.iter_attachments()}
    assert names == {f"termin-{booking.code}.png", "termin.ics"}
    event = calendar_of(confirmation).walk("VEVENT")[0]
    assert str(calendar_of(confirmation)["METHOD"]) == "REQUEST"
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == WEDNESDAY_9

    # Confirming again changes nothing and sends nothing.
    again = await post_with_csrf(client, confirm_path, confirm_path, {})
    assert again.status_code == 303
    assert len(await mails_after_jobs(jobs, data_dir)) == 2

    # Move: the same office's calendar, then a new time.
    move_page = await client.get(f"/termine/b/{token}/verschieben?woche=2026-11-16")
    assert move_page.status_code == 200
    assert f'value="{utc(THURSDAY_14)}"' in move_page.text
    assert f'value="{utc(WEDNESDAY_9)}"' not in move_page.text  # its own time is not offered
    moved = await post_with_csrf(
        client, f"/termine/b/{token}/verschieben", f"/termine/b/{token}", {"beginn": utc(THURSDAY_14)}
    )
    assert moved.status_code == 303, moved.text
    assert moved.headers["location"].endswith("hinweis=verschoben")
    mails = await mails_after_jobs(jobs, data_dir)
    assert len(mails) == 3
    assert mails[2]["Subject"].startswith(
        "Ihr Termin wurde verschoben: Donnerstag, 19. November 2026, 14:00 Uhr"
    )
    event = calendar_of(mails[2]).walk("VEVENT")[0]
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == THURSDAY_14
    assert str(event["UID"]) == f"{booking.code}@testserver.local"

    # Cancel.
    cancelled = await post_with_csrf(client, f"/termine/b/{token}/absagen", f"/termine/b/{token}", {})
    assert cancelled.status_code == 303
    page = await client.get(cancelled.headers["location"])
    assert "Ihr Termin ist abgesagt" in page.text
    assert "Termin absagen" not in page.text
    mails = await mails_after_jobs(jobs, data_dir)
    assert len(mails) == 4
    assert mails[3]["Subject"].startswith("Ihr Termin ist abgesagt")
    cancel_calendar = calendar_of(mails[3])
    assert str(cancel_calendar["METHOD"]) == "CANCEL"
    assert str(cancel_calendar.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
    async with seeded.sessions() as session:
        assert (await services.booking_by_token(session, token)).status == m.CANCELLED

    # A cancelled booking can no longer be moved: a clear message, not a 500.
    late = await post_with_csrf(
        client, f"/termine/b/{token}/verschieben", f"/termine/b/{token}", {"beginn": utc(WEDNESDAY_9)}
    )
    assert late.status_code == 400
    assert "kann nicht mehr geändert werden" in late.text


async def test_double_submit_books_once(
    client: AsyncTestClient[Any], seeded: Runtime, jobs: JobRunner, data_dir: Path
) -> None:
    _url, fields = await open_form(client, WEDNESDAY_9)
    data = {**fields, "email": "max@example.org"}
    first = await client.post("/termine/buchen", data=data)
    second = await client.post("/termine/buchen", data=data)
    assert first.status_code == second.status_code == 200
    assert "Bitte prüfen Sie Ihr Postfach" in second.text
    assert await booking_count(seeded) == 1
    assert len(await mails_after_jobs(jobs, data_dir)) == 1


async def test_expired_hold_is_refused(
    client: AsyncTestClient[Any], seeded: Runtime, clock: FrozenClock, jobs: JobRunner, data_dir: Path
) -> None:
    response, _fields = await book(client, WEDNESDAY_9, "late@example.org")
    assert response.status_code == 200
    [hold_mail] = await mails_after_jobs(jobs, data_dir)
    [confirm_link] = [link for link in links_in(hold_mail) if link.endswith("/bestaetigen")]
    path = path_of(confirm_link)
    page = await client.get(path)  # the CSRF token, while the page still offers the button
    token = CSRF_RE.search(page.text)
    assert token
    clock.advance(timedelta(minutes=services.HOLD_MINUTES + 1))
    shown = await client.get(path)
    assert shown.status_code == 410
    assert "Die Reservierung ist abgelaufen" in shown.text
    refused = await client.post(path, data={"_csrf_token": token.group(1)}, follow_redirects=False)
    assert refused.status_code == 400
    assert "Die Reservierung ist abgelaufen" in refused.text
    # The time is free again for others.
    response, _fields = await book(client, WEDNESDAY_9, "other@example.org")
    assert response.status_code == 200


async def test_refusals_are_clear_and_never_500(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    unknown = await client.get("/termine/ort?leistung=gibt-es-nicht")
    assert unknown.status_code == 400
    assert "Die Leistung „gibt-es-nicht“ gibt es nicht." in unknown.text
    none = await client.get("/termine/ort")
    assert none.status_code == 400
    assert "mindestens eine Leistung" in none.text
    apart = await client.get("/termine/ort?leistung=kfz-zulassung&leistung=reisepass")
    assert apart.status_code == 400
    assert "Kein Standort bietet alle" in apart.text

    assert (await client.get("/termine/leistungen/gibt-es-nicht")).status_code == 404
    office = await client.get("/termine/zeiten?leistung=personalausweis&ort=standort&standort=mond")
    assert office.status_code == 404
    assert "Den Standort „mond“ gibt es nicht." in office.text
    wrong_office = await client.get("/termine/zeiten?leistung=kfz-zulassung&ort=standort&standort=bs-mitte")
    assert wrong_office.status_code == 400
    bad_week = await client.get(
        "/termine/zeiten?leistung=personalausweis&ort=standort&standort=bs-mitte&woche=morgen"
    )
    assert bad_week.status_code == 400
    no_place = await client.get("/termine/zeiten?leistung=personalausweis&ort=naehe")
    assert no_place.status_code == 400
    assert "Stadtteil oder eine Haltestelle" in no_place.text

    past = await client.get(
        f"/termine/buchen?leistung=personalausweis&standort=bs-mitte&beginn={utc(datetime(2026, 11, 16, 9, 0, tzinfo=BERLIN)).replace('+', '%2B')}"
    )
    assert past.status_code == 400
    assert "in der Vergangenheit" in past.text
    garbage = await client.get("/termine/buchen?leistung=personalausweis&standort=bs-mitte&beginn=bald")
    assert garbage.status_code == 400

    closed, _fields = await book(client, SUNDAY_10, "sonntag@example.org")
    assert closed.status_code == 400
    assert "geschlossen" in closed.text

    email = await client.post(
        "/termine/buchen",
        data={**(await open_form(client, WEDNESDAY_9))[1], "email": "keine-adresse"},
    )
    assert email.status_code == 400
    assert 'id="email-error"' in email.text
    assert "gültige E-Mail-Adresse" in email.text

    first, _fields = await book(client, WEDNESDAY_9, "limit@example.org")
    assert first.status_code == 200
    limited, _fields = await book(client, THURSDAY_14, "limit@example.org")
    assert limited.status_code == 409
    assert "schon einen offenen Termin" in limited.text

    assert (await client.get("/termine/b/unbekannt")).status_code == 404
    assert (await client.get("/termine/b/unbekannt/bestaetigen")).status_code == 404
    assert (await client.get("/termine/b/unbekannt/verschieben")).status_code == 404


async def test_slot_taken_and_too_many_requests(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    # Walsum has one counter for identity cards: a second person at the same time is refused.
    first, _fields = await book(client, WEDNESDAY_9, "a@example.org", office="bs-walsum")
    assert first.status_code == 200
    taken, _fields = await book(client, WEDNESDAY_9, "b@example.org", office="bs-walsum")
    assert taken.status_code == 409
    assert "nicht mehr frei" in taken.text
    for index in range(services.HOLDS_PER_SOURCE_PER_HOUR - 1):
        response, _fields = await book(
            client, WEDNESDAY_9 + timedelta(minutes=30 * index), f"p{index}@example.org"
        )
        assert response.status_code == 200, response.text
    flooded, _fields = await book(client, THURSDAY_14, "q@example.org")
    assert flooded.status_code == 429
    assert "sehr viele Buchungen" in flooded.text


async def test_logged_in_citizen_sees_their_appointments(
    client: AsyncTestClient[Any], seeded: Runtime
) -> None:
    user = await make_user(seeded, "konto@example.org", display_name="Konto Inhaberin")
    await login_as(client, seeded, user)
    url, _fields = await open_form(client, WEDNESDAY_9)
    form = await client.get(url)
    assert 'value="konto@example.org"' in form.text
    assert 'value="Konto Inhaberin"' in form.text
    response, _fields = await book(client, WEDNESDAY_9, "konto@example.org")
    assert response.status_code == 200
    async with seeded.sessions() as session:
        [booking] = await services.bookings_of_user(session, user.id)
    mine = await client.get("/termine/meine")
    assert mine.status_code == 200
    token = services.link_token(seeded.settings.secret_key, booking.code)
    assert f"/termine/b/{token}" in mine.text
    assert "Mittwoch, 18. November 2026" in mine.text


async def test_my_appointments_needs_login(client: AsyncTestClient[Any], seeded: Runtime) -> None:
    response = await client.get("/termine/meine", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/konto/anmelden")


async def test_service_page_shows_documents_fee_and_human_path(
    client: AsyncTestClient[Any], seeded: Runtime
) -> None:
    page = await client.get("/termine/leistungen/reisepass")
    assert page.status_code == 200
    assert "Reisepass beantragen" in page.text
    assert "70,00 €" in page.text
    assert "20 Minuten" in page.text
    assert "ein aktuelles biometrisches Lichtbild" in page.text
    assert "Bürgerservice Hamborn" in page.text
    assert "Bürgerservice Walsum" not in page.text
    assert "0203 283-0" in page.text
    assert "telefonisch oder direkt am Schalter" in page.text


async def test_simultaneous_double_submit_books_once(
    client: AsyncTestClient[Any], seeded: Runtime, jobs: JobRunner, data_dir: Path
) -> None:
    """Two submits of the same form at the same moment (a double click): one booking, one mail."""
    _url, fields = await open_form(client, WEDNESDAY_9)
    data = {**fields, "email": "doppelt@example.org"}
    responses = await asyncio.gather(*(client.post("/termine/buchen", data=data) for _ in range(3)))
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all("Bitte prüfen Sie Ihr Postfach" in r.text for r in responses)
    assert await booking_count(seeded) == 1
    assert len(await mails_after_jobs(jobs, data_dir)) == 1
