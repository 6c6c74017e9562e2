"""The mails of a booking: hold (confirm link), confirmation with QR code and iCal, update, cancellation,
reminder. Each is queued in the caller's transaction (core mail outbox), so it goes out once committed.

Links carry the booking's secret, which is derived from its code (``services.link_token``), so a job
(the reminder) can build them without anything stored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import segno
from babel.dates import format_datetime
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.appointments import models as m
from stadtkern.appointments import services
from stadtkern.config import Settings
from stadtkern.core.i18n import current_locale
from stadtkern.core.i18n import gettext as _
from stadtkern.core.mail.services import Attachment, render_mail, send_mail
from stadtkern.web.runtime import Runtime


def default_base_url(settings: Settings) -> str:
    """Links in mails sent outside a request (jobs): the configured public URL, else the local server."""
    return (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")


def local_date(moment: datetime, zone: ZoneInfo) -> str:
    """``Dienstag, 17. November 2026`` in the current locale."""
    return format_datetime(moment, "EEEE, d. MMMM y", tzinfo=zone, locale=current_locale())


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return format_datetime(moment, "HH:mm", tzinfo=zone, locale=current_locale())


@dataclass(frozen=True)
class Summary:
    """What a citizen reads about a booking, on pages and in mails."""

    booking: m.Booking
    office: m.Office
    services: list[m.Service]
    date_text: str
    time_text: str
    end_text: str
    minutes: int
    manage_link: str
    confirm_link: str
    start_link: str
    hold_until_text: str
    documents: list[str]  # what to bring, for all services, each once


async def summary(
    session: AsyncSession, booking: m.Booking, *, runtime: Runtime, base_url: str | None = None
) -> Summary:
    zone = ZoneInfo(runtime.city.city.timezone)
    office = await session.get(m.Office, booking.office_id)
    assert office is not None  # foreign key
    chosen = await services.services_of(session, booking)
    base = (base_url or default_base_url(runtime.settings)).rstrip("/")
    token = services.link_token(runtime.settings.secret_key, booking.code)
    return Summary(
        booking=booking,
        office=office,
        services=chosen,
        date_text=local_date(booking.starts_at, zone),
        time_text=local_time(booking.starts_at, zone),
        end_text=local_time(booking.ends_at, zone),
        minutes=services.total_minutes(chosen),
        manage_link=f"{base}/termine/b/{token}",
        confirm_link=f"{base}/termine/b/{token}/bestaetigen",
        start_link=f"{base}/termine",
        hold_until_text=local_time(booking.hold_expires_at, zone) if booking.hold_expires_at else "",
        documents=list(dict.fromkeys(doc for service in chosen for doc in service.documents)),
    )


def qr_png(code: str) -> bytes:
    """The booking code as a QR code (what the clerk scans at check-in)."""
    buffer = io.BytesIO()
    segno.make(code, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def ical(info: Summary, *, method: str, base_url: str, now: datetime, mail_from: str) -> bytes:
    """A VCALENDAR with one VEVENT; METHOD:REQUEST adds or updates it, METHOD:CANCEL removes it."""
    booking = info.booking
    host = urlsplit(base_url).hostname or "stadtkern.localhost"
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Stadtkern//Termine//DE")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = icalendar.Event()
    event.add("uid", f"{booking.code}@{host}")
    # A cancellation must not be older than the last update, so it counts one up.
    event.add("sequence", booking.sequence + (1 if method == "CANCEL" else 0))
    event.add("dtstamp", now)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("summary", _("Termin: %(services)s", services=", ".join(s.name for s in info.services)))
    event.add("location", f"{info.office.name}, {info.office.address}")
    event.add(
        "description",
        _(
            "Buchungscode: %(code)s\nBitte bringen Sie mit: %(documents)s\nTermin ändern oder absagen: %(link)s",
            code=booking.code,
            documents="; ".join(info.documents) or "-",
            link=info.manage_link,
        ),
    )
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = icalendar.vCalAddress(f"mailto:{parseaddr(mail_from)[1] or 'noreply@' + host}")
    organizer.params["cn"] = icalendar.vText(info.office.name)
    event.add("organizer", organizer)
    if booking.email:
        attendee = icalendar.vCalAddress(f"mailto:{booking.email}")
        attendee.params["rsvp"] = icalendar.vText("FALSE")
        event.add("attendee", attendee)
    calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data


async def _send(
    session: AsyncSession,
    info: Summary,
    template: str,
    *,
    runtime: Runtime,
    now: datetime,
    attachments: list[Attachment] | None = None,
    **context: object,
) -> None:
    if not info.booking.email:
        return  # booked by phone without an address: nothing to send
    assert runtime.templates is not None
    subject, body = render_mail(
        runtime.templates,
        template,
        info=info,
        city=runtime.city,
        contact=runtime.city.contacts.get("appointments"),
        hold_minutes=services.HOLD_MINUTES,
        **context,
    )
    await send_mail(
        session,
        to=info.booking.email,
        subject=subject,
        body_text=body,
        now=now,
        attachments=attachments or [],
        user_id=info.booking.user_id,
    )


async def send_hold(
    session: AsyncSession, booking: m.Booking, *, runtime: Runtime, now: datetime, base_url: str | None = None
) -> None:
    """ "Bitte bestätigen Sie Ihren Termin": the link that turns the hold into a booking."""
    info = await summary(session, booking, runtime=runtime, base_url=base_url)
    await _send(session, info, "appointment_hold", runtime=runtime, now=now)


async def send_confirmation(
    session: AsyncSession,
    booking: m.Booking,
    *,
    runtime: Runtime,
    now: datetime,
    base_url: str | None = None,
    updated: bool = False,
) -> None:
    """The booking code, what to bring, the QR code and the calendar entry (updated after a move)."""
    base = (base_url or default_base_url(runtime.settings)).rstrip("/")
    info = await summary(session, booking, runtime=runtime, base_url=base)
    attachments = [
        Attachment(f"termin-{booking.code}.png", "image/png", qr_png(booking.code)),
        Attachment(
            "termin.ics",
            "text/calendar",
            ical(info, method="REQUEST", base_url=base, now=now, mail_from=runtime.settings.mail_from),
        ),
    ]
    await _send(
        session,
        info,
        "appointment_confirmed",
        runtime=runtime,
        now=now,
        attachments=attachments,
        updated=updated,
    )


async def send_cancellation(
    session: AsyncSession, booking: m.Booking, *, runtime: Runtime, now: datetime, base_url: str | None = None
) -> None:
    base = (base_url or default_base_url(runtime.settings)).rstrip("/")
    info = await summary(session, booking, runtime=runtime, base_url=base)
    attachment = Attachment(
        "absage.ics",
        "text/calendar",
        ical(info, method="CANCEL", base_url=base, now=now, mail_from=runtime.settings.mail_from),
    )
    await _send(session, info, "appointment_cancelled", runtime=runtime, now=now, attachments=[attachment])


async def send_reminder(
    session: AsyncSession, booking: m.Booking, *, runtime: Runtime, now: datetime
) -> None:
    """The day before: when, where, what to bring, and the link to move or cancel."""
    info = await summary(session, booking, runtime=runtime)
    await _send(session, info, "appointment_reminder", runtime=runtime, now=now)
