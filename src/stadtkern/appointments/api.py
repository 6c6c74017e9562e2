"""JSON API of the appointment module under ``/api/termine`` (listed in ``/api/openapi.json``).

Offices, services, free times, and a booking's life through its link: hold → confirm → move → cancel.

Who may call it, and why there is no CSRF token: the API is for programs (a city app, a kiosk, a
partner portal), which send no cookies and cannot fetch a form token, so its routes are exempt from the
CSRF check (``opt={"exclude_from_csrf": True}`` on the router, the key Litestar's CSRF middleware reads).
It therefore never acts on the caller's login session: a booking made here is a guest booking by email,
exactly what an anonymous caller could do with the booking form. Cross-site abuse gains nothing over a
direct call, and direct calls are held in check by the same rules as the form, all in
``services.hold``: a rate limit per client address and hour, a limit of open bookings per person and
service, short holds that lapse unless the link in the mail is used. The link token is never in a
response to the request that made the booking: it only travels in the mail, so confirming proves that
the caller reads that mailbox.

Errors use the project's shape ``{"error": {"code", "message", "details": {"field": …}}}``; malformed
input is a 400 naming the field, refusals by the rules carry the status of their ``AppointmentError``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.appointments import mails, services
from stadtkern.appointments import models as m
from stadtkern.appointments.errors import AppointmentError
from stadtkern.appointments.profile import WEEKDAYS
from stadtkern.core.i18n import gettext as _
from stadtkern.web.errors import json_error
from stadtkern.web.runtime import Runtime, runtime_of

PREFIX = "/api/termine"
MAX_DAYS = 31


# --- types (they make the OpenAPI schema) ------------------------------------------------------------


class OpeningInterval(msgspec.Struct):
    weekday: str  # mo … so
    opens: str  # "08:00", local time of the city
    closes: str


class OfficeOut(msgspec.Struct):
    key: str
    name: str
    address: str
    district: str
    phone: str
    longitude: float | None
    latitude: float | None
    counters: int
    services: list[str]
    opening_hours: list[OpeningInterval]


class ServiceOut(msgspec.Struct):
    key: str
    name: str
    description: str
    duration_minutes: int
    fee: str
    documents: list[str]
    max_open_per_person: int
    offices: list[str]


class FreeTimes(msgspec.Struct):
    office: str
    services: list[str]
    duration_minutes: int
    first_day: date
    days: int
    times: list[datetime]  # local time of the city, with its UTC offset


class EarliestTime(msgspec.Struct):
    office: str
    office_name: str
    starts_at: datetime


class BookingIn(msgspec.Struct, forbid_unknown_fields=True):
    office: str
    services: list[str]
    start: datetime  # with a UTC offset; without one it is read as the city's local time
    email: str
    name: str = ""
    phone: str = ""
    request_key: str | None = None  # the same key twice books once (a retried request)


class MoveIn(msgspec.Struct, forbid_unknown_fields=True):
    start: datetime


class BookingOut(msgspec.Struct):
    code: str
    status: str
    office: str
    services: list[str]
    starts_at: datetime
    ends_at: datetime
    hold_expires_at: datetime | None
    name: str
    repeated: bool = False  # True when a repeated request_key found the first booking


class ErrorBody(msgspec.Struct):
    code: str
    message: str
    details: dict[str, Any] | None


class ErrorOut(msgspec.Struct):
    error: ErrorBody


# --- helpers -----------------------------------------------------------------------------------------


def _zone(rt: Runtime) -> ZoneInfo:
    return ZoneInfo(rt.city.city.timezone)


def _invalid(message: str, field: str) -> AppointmentError:
    return AppointmentError(message, field)


def _parse_day(value: str | None, field: str, default: date) -> date:
    if value is None or value == "":
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _invalid(
            _("„%(value)s“ ist kein Datum. Bitte im Format JJJJ-MM-TT angeben.", value=value), field
        ) from None


def _parse_days(value: str | None) -> int:
    if value is None or value == "":
        return 7
    try:
        days = int(value)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise _invalid(_("Bitte zwischen 1 und %(max)s Tagen angeben.", max=MAX_DAYS), "tage")
    return days


def _service_keys(values: Sequence[str] | None) -> list[str]:
    keys = [key.strip() for value in values or [] for key in value.split(",") if key.strip()]
    if not keys:
        raise _invalid(_("Bitte wählen Sie mindestens eine Leistung."), "leistung")
    return keys


def _aware(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


async def _keys_of(session: AsyncSession, booking: m.Booking) -> tuple[str, list[str]]:
    office = await session.get(m.Office, booking.office_id)
    found = await services.services_of(session, booking)
    return (office.key if office else ""), [s.key for s in found]


async def _booking_out(
    session: AsyncSession, booking: m.Booking, zone: ZoneInfo, *, repeated: bool = False
) -> BookingOut:
    office_key, service_keys = await _keys_of(session, booking)
    return BookingOut(
        code=booking.code,
        status=booking.status,
        office=office_key,
        services=service_keys,
        starts_at=booking.starts_at.astimezone(zone),
        ends_at=booking.ends_at.astimezone(zone),
        hold_expires_at=booking.hold_expires_at.astimezone(zone) if booking.hold_expires_at else None,
        name=booking.name,
        repeated=repeated,
    )


def _source(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _base_url(request: Request[Any, Any, Any]) -> str:
    """Links in the mails point back to the server that was asked (its pages under /termine)."""
    return str(request.base_url).rstrip("/")


# --- error handlers ----------------------------------------------------------------------------------


def appointment_error_handler(_request: Request[Any, Any, Any], exc: AppointmentError) -> Response[Any]:
    return json_error(exc.status_code, exc.code, exc.message, {"field": exc.field})


def _field_of(exc: ValidationException) -> tuple[str | None, str]:
    """The field a Litestar/msgspec validation message is about, and the message itself."""
    reason = str(exc.detail)
    key: str | None = None
    if isinstance(exc.extra, list) and exc.extra and isinstance(exc.extra[0], dict):
        reason = str(exc.extra[0].get("message") or reason)
        key = str(exc.extra[0].get("key") or "") or None
    for pattern in _FIELD_PATTERNS:
        match = pattern.search(reason)
        if match:
            return match.group(1), reason
    return (None if key == "data" else key), reason


_FIELD_PATTERNS = (
    re.compile(r"`\$\.([A-Za-z_][A-Za-z0-9_]*)"),  # Expected `str`, got `int` - at `$.email`
    re.compile(r"missing required field `([^`]+)`"),
    re.compile(r"parameter '([^']+)'"),  # Missing required query parameter 'standort'
)


def validation_error_handler(_request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's own checks of the body and parameters, in our shape with the field named."""
    field, reason = _field_of(exc)
    if field:
        message = _(
            "Die Angabe „%(field)s“ fehlt oder ist ungültig (%(reason)s).", field=field, reason=reason
        )
    else:
        message = _("Die Anfrage ist ungültig: %(reason)s", reason=reason)
    return json_error(400, "invalid_request", message, {"field": field})


ERROR_RESPONSES = {
    400: ResponseSpec(ErrorOut, description="Ungültige oder fehlende Angabe (details.field nennt sie)"),
    404: ResponseSpec(ErrorOut, description="Standort, Leistung oder Buchung nicht gefunden"),
    409: ResponseSpec(ErrorOut, description="Zeit nicht mehr frei oder Limit pro Person erreicht"),
    429: ResponseSpec(ErrorOut, description="Zu viele Buchungen von diesem Anschluss"),
}
READ_ERRORS = {code: ERROR_RESPONSES[code] for code in (400, 404)}
CHANGE_ERRORS = {code: ERROR_RESPONSES[code] for code in (400, 404, 409)}


# --- handlers ----------------------------------------------------------------------------------------


@get(
    "/standorte",
    responses=READ_ERRORS,
    summary="Standorte mit Adresse, Telefon, Öffnungszeiten und Leistungen",
)
async def list_offices(request: Request[Any, Any, Any]) -> list[OfficeOut]:
    rt = runtime_of(request)
    async with rt.sessions() as session:
        offices = (
            await session.scalars(select(m.Office).where(m.Office.active).order_by(m.Office.name))
        ).all()
        offered: dict[int, list[str]] = {}
        for office_id, key in await session.execute(
            select(m.OfficeService.office_id, m.Service.key)
            .join(m.Service, m.Service.id == m.OfficeService.service_id)
            .where(m.Service.active)
            .order_by(m.Service.key)
        ):
            offered.setdefault(office_id, []).append(key)
        hours: dict[int, list[OpeningInterval]] = {}
        for row in (
            await session.scalars(
                select(m.OpeningHours).order_by(m.OpeningHours.weekday, m.OpeningHours.opens)
            )
        ).all():
            hours.setdefault(row.office_id, []).append(
                OpeningInterval(
                    WEEKDAYS[row.weekday], row.opens.strftime("%H:%M"), row.closes.strftime("%H:%M")
                )
            )
    return [
        OfficeOut(
            key=o.key,
            name=o.name,
            address=o.address,
            district=o.district,
            phone=o.phone,
            longitude=o.longitude,
            latitude=o.latitude,
            counters=o.counters,
            services=offered.get(o.id, []),
            opening_hours=hours.get(o.id, []),
        )
        for o in offices
    ]


@get(
    "/leistungen",
    responses=READ_ERRORS,
    summary="Leistungen mit Dauer, Gebühr, Unterlagen und Standorten",
)
async def list_services(request: Request[Any, Any, Any]) -> list[ServiceOut]:
    rt = runtime_of(request)
    async with rt.sessions() as session:
        rows = (
            await session.scalars(select(m.Service).where(m.Service.active).order_by(m.Service.name))
        ).all()
        offices: dict[int, list[str]] = {}
        for service_id, key in await session.execute(
            select(m.OfficeService.service_id, m.Office.key)
            .join(m.Office, m.Office.id == m.OfficeService.office_id)
            .where(m.Office.active)
            .order_by(m.Office.key)
        ):
            offices.setdefault(service_id, []).append(key)
    return [
        ServiceOut(
            key=s.key,
            name=s.name,
            description=s.description,
            duration_minutes=s.duration_minutes,
            fee=s.fee,
            documents=list(s.documents),
            max_open_per_person=s.max_open_per_person,
            offices=offices.get(s.id, []),
        )
        for s in rows
    ]


@get(
    "/freie-zeiten",
    responses=READ_ERRORS,
    summary="Freie Zeiten eines Standorts für eine oder mehrere Leistungen",
)
async def free_times(
    request: Request[Any, Any, Any],
    standort: Annotated[str, QueryParameter(description="Schlüssel des Standorts, z. B. bs-mitte")],
    leistung: Annotated[
        list[str] | None,
        QueryParameter(description="Schlüssel der Leistungen (mehrfach oder durch Komma getrennt)"),
    ] = None,
    von: Annotated[
        str | None, QueryParameter(description="erster Tag (JJJJ-MM-TT, Ortszeit); sonst heute")
    ] = None,
    tage: Annotated[
        str | None, QueryParameter(description=f"Anzahl Tage (1 bis {MAX_DAYS}, Standard 7)")
    ] = None,
) -> FreeTimes:
    rt = runtime_of(request)
    zone = _zone(rt)
    now = rt.clock.now()
    keys = _service_keys(leistung)
    first_day = _parse_day(von, "von", now.astimezone(zone).date())
    days = _parse_days(tage)
    async with rt.sessions() as session:
        found = await services.services_by_keys(session, keys)
        office = await services.office_by_key(session, standort)
        times = await services.free_times(
            session, office, found, first_day=first_day, days=days, now=now, timezone=zone
        )
    return FreeTimes(
        office=office.key,
        services=[s.key for s in found],
        duration_minutes=services.total_minutes(found),
        first_day=first_day,
        days=days,
        times=[t.astimezone(zone) for t in times],
    )


@get(
    "/frueheste-termine",
    responses=READ_ERRORS,
    summary="Frühester freier Termin je Standort, der alle Leistungen anbietet",
)
async def earliest_times(
    request: Request[Any, Any, Any],
    leistung: Annotated[
        list[str] | None,
        QueryParameter(description="Schlüssel der Leistungen (mehrfach oder durch Komma getrennt)"),
    ] = None,
) -> list[EarliestTime]:
    """Earliest first: the first entry is the earliest appointment anywhere."""
    rt = runtime_of(request)
    zone = _zone(rt)
    now = rt.clock.now()
    keys = _service_keys(leistung)
    async with rt.sessions() as session:
        found = await services.services_by_keys(session, keys)
        firsts = await services.earliest_anywhere(session, found, now=now, timezone=zone)
    return [EarliestTime(office.key, office.name, start.astimezone(zone)) for office, start in firsts]


@post(
    "/buchungen",
    status_code=HTTP_201_CREATED,
    responses=ERROR_RESPONSES,
    summary="Termin reservieren (Bestätigung per E-Mail)",
)
async def create_booking(request: Request[Any, Any, Any], data: JSONBody[BookingIn]) -> BookingOut:
    """Hold the time for a few minutes; the mail carries the link that confirms it."""
    rt = runtime_of(request)
    zone = _zone(rt)
    now = rt.clock.now()
    booking_request = services.Request(
        office_key=data.office,
        service_keys=data.services,
        starts_at=_aware(data.start, zone),
        email=data.email,
        name=data.name,
        phone=data.phone,
        source=_source(request),
        request_key=data.request_key or None,
    )
    async with rt.sessions() as session:
        async with session.begin():
            held = await services.hold(
                session, booking_request, now=now, timezone=zone, secret_key=rt.settings.secret_key
            )
            if not held.repeated:
                # Queued in the same transaction: no hold without its mail, no mail without its hold.
                await mails.send_hold(session, held.booking, runtime=rt, now=now, base_url=_base_url(request))
        return await _booking_out(session, held.booking, zone, repeated=held.repeated)


@get("/buchungen/{token:str}", responses=READ_ERRORS, summary="Eine Buchung über den Link aus der E-Mail")
async def show_booking(request: Request[Any, Any, Any], token: FromPath[str]) -> BookingOut:
    rt = runtime_of(request)
    async with rt.sessions() as session:
        booking = await services.booking_by_token(session, token)
        return await _booking_out(session, booking, _zone(rt))


@post(
    "/buchungen/{token:str}/bestaetigen",
    status_code=200,
    responses=CHANGE_ERRORS,
    summary="Reservierung bestätigen",
)
async def confirm_booking(request: Request[Any, Any, Any], token: FromPath[str]) -> BookingOut:
    rt = runtime_of(request)
    zone = _zone(rt)
    async with rt.sessions() as session:
        async with session.begin():
            now = rt.clock.now()
            booking = await services.booking_by_token(session, token)
            was = booking.status
            booking = await services.confirm(session, token, now=now, timezone=zone)
            if was != m.CONFIRMED and booking.status == m.CONFIRMED:
                await mails.send_confirmation(
                    session, booking, runtime=rt, now=now, base_url=_base_url(request)
                )
        return await _booking_out(session, booking, zone)


@post(
    "/buchungen/{token:str}/verschieben",
    status_code=200,
    responses=CHANGE_ERRORS,
    summary="Termin auf eine andere freie Zeit legen",
)
async def move_booking(
    request: Request[Any, Any, Any], token: FromPath[str], data: JSONBody[MoveIn]
) -> BookingOut:
    rt = runtime_of(request)
    zone = _zone(rt)
    async with rt.sessions() as session:
        async with session.begin():
            now = rt.clock.now()
            booking = await services.move(session, token, _aware(data.start, zone), now=now, timezone=zone)
            if booking.status == m.CONFIRMED:
                await mails.send_confirmation(
                    session, booking, runtime=rt, now=now, base_url=_base_url(request), updated=True
                )
        return await _booking_out(session, booking, zone)


@delete("/buchungen/{token:str}", status_code=200, responses=CHANGE_ERRORS, summary="Termin absagen")
async def cancel_booking(request: Request[Any, Any, Any], token: FromPath[str]) -> BookingOut:
    rt = runtime_of(request)
    async with rt.sessions() as session:
        async with session.begin():
            now = rt.clock.now()
            booking = await services.booking_by_token(session, token)
            was = booking.status
            booking = await services.cancel(session, token, now=now)
            if was == m.CONFIRMED:
                await mails.send_cancellation(
                    session, booking, runtime=rt, now=now, base_url=_base_url(request)
                )
        return await _booking_out(session, booking, _zone(rt))


ROUTES: list[Any] = [
    Router(
        PREFIX,
        route_handlers=[
            list_offices,
            list_services,
            free_times,
            earliest_times,
            create_booking,
            show_booking,
            confirm_booking,
            move_booking,
            cancel_booking,
        ],
        tags=["Termine"],
        opt={"exclude_from_csrf": True},
        exception_handlers={
            AppointmentError: appointment_error_handler,
            ValidationException: validation_error_handler,
        },
    )
]
