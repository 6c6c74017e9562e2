"""Citizen pages of the appointment module: choose services and place, see free times, book, confirm,
move, cancel (through the mailed link, without logging in), my appointments, service pages.

Handlers stay thin: rules are in ``services``, rule + mail in ``workflow``. Every AppointmentError becomes
a German message on the page with the error's status code; nothing here answers 500 for bad input.
All pages work without JavaScript; ``standort.js`` only adds "use my location".
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import segno
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.appointments import mails, profile, services, workflow
from stadtkern.appointments import models as m
from stadtkern.appointments.errors import AppointmentError, NotFound
from stadtkern.appointments.slots import UNIT, free_starts, units_for
from stadtkern.core.i18n import gettext as _
from stadtkern.web.auth import current_user, login_required
from stadtkern.web.forms import FieldErrors
from stadtkern.web.runtime import Runtime, runtime_of
from stadtkern.web.templating import render

AnyRequest = Request[Any, Any, Any]
STATIC = Path(__file__).resolve().parent / "static"
WEEK = 7
# In the calendar, free starts closer than this to the previous one shown are left out (the time grid
# is 5 minutes; a button every 5 minutes would bury the page). Every free stretch still shows its start.
MIN_GAP_MINUTES = 10
MAX_GAP_MINUTES = 30


# --- small helpers --------------------------------------------------------------------------------


def _zone(rt: Runtime) -> ZoneInfo:
    return ZoneInfo(rt.city.city.timezone)


def _base_url(request: AnyRequest) -> str:
    # Links in mails: STADTKERN_PUBLIC_URL in production, never the (forgeable) Host header there.
    return (runtime_of(request).settings.public_url or str(request.base_url)).rstrip("/")


def _ip(request: AnyRequest) -> str:
    return request.client.host if request.client else "unknown"


def _keys(request: AnyRequest) -> list[str]:
    return [key for key in request.query_params.getall("leistung", []) if key]


def _query(**params: Any) -> str:
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        if isinstance(value, list | tuple):
            pairs.extend((name, str(item)) for item in value)
        elif value is not None and value != "":
            pairs.append((name, str(value)))
    return urlencode(pairs)


def _parse_start(text: str | None) -> datetime:
    try:
        moment = datetime.fromisoformat(text or "")
    except ValueError:
        raise AppointmentError(_("Bitte wählen Sie eine Zeit aus dem Kalender."), "start") from None
    if moment.tzinfo is None:
        raise AppointmentError(_("Bitte wählen Sie eine Zeit aus dem Kalender."), "start")
    return moment.astimezone(UTC)


def _parse_week(text: str | None, today: date) -> date:
    """The Monday of the week to show (this week when none is given)."""
    day = today
    if text:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise AppointmentError(_("Das Datum „%(value)s“ ist ungültig.", value=text), "woche") from None
    return day - timedelta(days=day.weekday())


def _contact(rt: Runtime) -> Any:
    return rt.city.contacts.get("appointments")


async def _refusal(request: AnyRequest, message: str, status: int, **context: Any) -> Template:
    heading = _("Termin nicht möglich") if status != 404 else _("Nicht gefunden")
    return await render(
        request,
        "appointments/refused.html",
        status_code=status,
        title=heading,
        heading=heading,
        message=message,
        contact=_contact(runtime_of(request)),
        **context,
    )


async def _error_page(request: AnyRequest, exc: AppointmentError, **context: Any) -> Template:
    return await _refusal(request, exc.message, exc.status_code, **context)


async def _all_services(db: AsyncSession) -> list[m.Service]:
    return list((await db.scalars(select(m.Service).where(m.Service.active).order_by(m.Service.name))).all())


@dataclass(frozen=True)
class Day:
    day: date
    label: str
    times: list[tuple[datetime, str, str]]  # (start UTC, "10:05", full label for screen readers)
    open: bool


def _thin(starts: Sequence[datetime], gap: timedelta) -> list[datetime]:
    shown: list[datetime] = []
    for start in starts:
        if not shown or start - shown[-1] >= gap:
            shown.append(start)
    return shown


async def _week(
    db: AsyncSession,
    rt: Runtime,
    office: m.Office,
    chosen: Sequence[m.Service],
    monday: date,
    *,
    exclude_booking: m.Booking | None = None,
) -> list[Day]:
    zone = _zone(rt)
    now = rt.clock.now()
    # Moving: the booking's own time counts as free (and is not offered again).
    schedule = await services.load_schedule(
        db,
        office,
        first_day=monday,
        last_day=monday + timedelta(days=WEEK - 1),
        timezone=zone,
        now=now,
        exclude_booking_id=exclude_booking.id if exclude_booking else None,
    )
    today = now.astimezone(zone).date()
    horizon = today + timedelta(days=services.BOOKING_HORIZON_DAYS)
    days = [d for d in (monday + timedelta(days=i) for i in range(WEEK)) if today <= d <= horizon]
    starts = [
        s
        for s in free_starts(
            schedule,
            [s.id for s in chosen],
            services.total_minutes(chosen),
            days,
            not_before=now + services.LEAD,
        )
        if exclude_booking is None or s != exclude_booking.starts_at
    ]
    minutes = services.total_minutes(chosen)
    gap = timedelta(minutes=min(max(minutes, MIN_GAP_MINUTES), MAX_GAP_MINUTES))
    by_day: dict[date, list[datetime]] = {}
    for start in starts:
        by_day.setdefault(start.astimezone(zone).date(), []).append(start)
    result = []
    for offset in range(WEEK):
        day = monday + timedelta(days=offset)
        if day < today:
            continue  # days gone by are not shown at all
        label = mails.local_date(
            datetime.combine(day, datetime.min.time().replace(hour=12), tzinfo=zone), zone
        )
        is_open = day not in schedule.closed_days and bool(schedule.hours.get(day.weekday()))
        times = [
            (start, mails.local_time(start, zone), f"{label}, {mails.local_time(start, zone)}")
            for start in _thin(by_day.get(day, []), gap)
        ]
        if not is_open and not times and day.weekday() >= 5:
            continue  # weekends without hours are left out, not listed as closed
        result.append(Day(day, label, times, is_open))
    return result


def _week_nav(rt: Runtime, monday: date) -> tuple[date | None, date | None, str]:
    zone = _zone(rt)
    today = rt.clock.now().astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    horizon = today + timedelta(days=services.BOOKING_HORIZON_DAYS)
    previous = monday - timedelta(days=WEEK) if monday > this_monday else None
    following = monday + timedelta(days=WEEK) if monday + timedelta(days=WEEK) <= horizon else None
    sunday = monday + timedelta(days=WEEK - 1)
    noon = datetime.min.time().replace(hour=12)
    label = _(
        "%(first)s bis %(last)s",
        first=mails.local_date(datetime.combine(monday, noon, tzinfo=zone), zone),
        last=mails.local_date(datetime.combine(sunday, noon, tzinfo=zone), zone),
    )
    return previous, following, label


# --- 1. start: choose services --------------------------------------------------------------------


async def _start_page(
    request: AnyRequest, *, errors: FieldErrors | None = None, chosen: Sequence[str] = (), status: int = 200
) -> Template:
    rt = runtime_of(request)
    async with rt.sessions() as db:
        offered = await _all_services(db)
    user = await current_user(request)
    return await render(
        request,
        "appointments/start.html",
        status_code=status,
        title=_("Termin buchen"),
        services=offered,
        chosen=set(chosen),
        errors=errors or {},
        contact=_contact(rt),
        logged_in=user is not None,
        hold_minutes=services.HOLD_MINUTES,
    )


@get("/termine", include_in_schema=False, name="appointments")
async def start(request: AnyRequest) -> Template:
    return await _start_page(request, chosen=_keys(request))


# --- 2. choose the place ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NearPlace:
    value: str
    name: str
    location: tuple[float, float]


def _near_places(rt: Runtime) -> tuple[list[NearPlace], list[NearPlace]]:
    districts = [
        NearPlace(f"bezirk:{d.code}", d.name, d.center) for d in profile.load_districts(rt.city.directory)
    ]
    stops = [
        NearPlace(f"halt:{index}", stop.name, stop.location)
        for index, stop in enumerate(profile.load_profile(rt.city).stops)
    ]
    districts.sort(key=lambda place: place.name)
    return districts, stops


@get("/termine/ort", include_in_schema=False)
async def choose_place(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    keys = _keys(request)
    async with rt.sessions() as db:
        try:
            chosen = await services.services_by_keys(db, keys)
        except AppointmentError as exc:
            return await _start_page(
                request, errors={"services": exc.message}, chosen=keys, status=exc.status_code
            )
        offices = await services.offices_offering(db, chosen)
    if not offices:
        return await _start_page(
            request,
            errors={
                "services": _(
                    "Kein Standort bietet alle gewählten Leistungen zusammen an. Bitte buchen Sie sie einzeln."
                )
            },
            chosen=keys,
            status=400,
        )
    districts, stops = _near_places(rt)
    return await render(
        request,
        "appointments/place.html",
        title=_("Standort wählen"),
        chosen=chosen,
        keys=[s.key for s in chosen],
        minutes=services.total_minutes(chosen),
        offices=offices,
        districts=districts,
        stops=stops,
        errors={},
        values={"ort": "standort"},
        contact=_contact(rt),
    )


# --- 3. free times -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfficeChoice:
    office: m.Office
    distance_km: float | None
    earliest: datetime | None
    earliest_text: str
    week: str


def _near_point(request: AnyRequest, rt: Runtime) -> tuple[float, float, str]:
    """The point to measure from: the browser's location (lon/lat) or a chosen district or stop."""
    params = request.query_params
    lon_text, lat_text = params.get("lon") or "", params.get("lat") or ""
    if lon_text and lat_text:
        try:
            lon, lat = float(lon_text), float(lat_text)
        except ValueError:
            lon, lat = 999.0, 999.0
        if -180 <= lon <= 180 and -90 <= lat <= 90:
            return lon, lat, _("Ihrem Standort")
    wanted = params.get("naehe") or ""
    districts, stops = _near_places(rt)
    for place in (*districts, *stops):
        if place.value == wanted:
            return place.location[0], place.location[1], place.name
    raise AppointmentError(
        _("Bitte wählen Sie einen Stadtteil oder eine Haltestelle, oder erlauben Sie Ihren Standort."),
        "naehe",
    )


@get("/termine/zeiten", include_in_schema=False)
async def free_times(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    zone = _zone(rt)
    now = rt.clock.now()
    keys = _keys(request)
    how = request.query_params.get("ort") or ("standort" if request.query_params.get("standort") else "")
    async with rt.sessions() as db:
        try:
            chosen = await services.services_by_keys(db, keys)
        except AppointmentError as exc:
            return await _start_page(
                request, errors={"services": exc.message}, chosen=keys, status=exc.status_code
            )
        common = dict(
            chosen=chosen,
            keys=[s.key for s in chosen],
            minutes=services.total_minutes(chosen),
            contact=_contact(rt),
        )
        try:
            if how == "standort":
                office = await services.office_by_key(db, request.query_params.get("standort") or "")
                offering = await services.offices_offering(db, chosen)
                if office.id not in {o.id for o in offering}:
                    raise AppointmentError(
                        _("Dieser Standort bietet nicht alle gewählten Leistungen an."), "standort"
                    )
                today = now.astimezone(zone).date()
                week_param = request.query_params.get("woche")
                earliest = None
                if not week_param:
                    # Without a week chosen, open the calendar at the first free time.
                    earliest = await services.earliest(db, office, chosen, now=now, timezone=zone)
                    if earliest is not None:
                        today = earliest.astimezone(zone).date()
                monday = _parse_week(week_param, today)
                days = await _week(db, rt, office, chosen, monday)
                if not any(day.times for day in days) and earliest is None:
                    earliest = await services.earliest(db, office, chosen, now=now, timezone=zone)
                previous, following, label = _week_nav(rt, monday)
                base = dict(leistung=[s.key for s in chosen], ort="standort", standort=office.key)
                return await render(
                    request,
                    "appointments/calendar.html",
                    title=_("Freie Zeiten: %(office)s", office=office.name),
                    office=office,
                    days=days,
                    week_label=label,
                    previous_link=f"/termine/zeiten?{_query(**base, woche=previous)}" if previous else None,
                    next_link=f"/termine/zeiten?{_query(**base, woche=following)}" if following else None,
                    earliest_link=(
                        f"/termine/zeiten?{_query(**base, woche=earliest.astimezone(zone).date())}"
                        if earliest
                        else None
                    ),
                    earliest_text=(
                        f"{mails.local_date(earliest, zone)}, {mails.local_time(earliest, zone)}"
                        if earliest
                        else ""
                    ),
                    move_token=None,
                    error=None,
                    **common,
                )
            if how not in ("frueh", "naehe"):
                raise AppointmentError(_("Bitte wählen Sie, wie Sie den Standort bestimmen möchten."), "ort")
            offices = await services.offices_offering(db, chosen)
            placed: list[tuple[m.Office, float | None]]
            near_name = ""
            if how == "naehe":
                lon, lat, near_name = _near_point(request, rt)
                placed = [(o, round(d, 1)) for o, d in services.by_distance(offices, lon, lat)]
            else:
                placed = [(o, None) for o in offices]
            choices = []
            for office, distance in placed:
                first = await services.earliest(db, office, chosen, now=now, timezone=zone)
                choices.append(
                    OfficeChoice(
                        office,
                        distance,
                        first,
                        f"{mails.local_date(first, zone)}, {mails.local_time(first, zone)}" if first else "",
                        first.astimezone(zone).date().isoformat() if first else "",
                    )
                )
        except AppointmentError as exc:
            districts, stops = _near_places(rt)
            offices = await services.offices_offering(db, chosen)
            field = {"office": "standort", "start": "woche"}.get(exc.field or "", exc.field or "ort")
            return await render(
                request,
                "appointments/place.html",
                status_code=exc.status_code,
                title=_("Standort wählen"),
                offices=offices,
                districts=districts,
                stops=stops,
                errors={field: exc.message},
                values=dict(request.query_params),
                **common,
            )
    if how == "frueh":
        choices.sort(key=lambda c: (c.earliest is None, c.earliest or now))
    return await render(
        request,
        "appointments/offices.html",
        title=_("Frühester Termin") if how == "frueh" else _("Standorte in Ihrer Nähe"),
        how=how,
        near_name=near_name,
        choices=choices,
        **common,
    )


# --- 4. booking form ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chosen:
    office: m.Office
    services: list[m.Service]
    start: datetime
    date_text: str
    time_text: str
    end_text: str
    minutes: int


async def _chosen(
    db: AsyncSession, rt: Runtime, keys: Sequence[str], office_key: str, start: datetime
) -> Chosen:
    zone = _zone(rt)
    chosen = await services.services_by_keys(db, keys)
    office = await services.office_by_key(db, office_key)
    minutes = services.total_minutes(chosen)
    end = start + units_for(minutes) * UNIT
    return Chosen(
        office,
        chosen,
        start,
        mails.local_date(start, zone),
        mails.local_time(start, zone),
        mails.local_time(end, zone),
        minutes,
    )


async def _booking_form(
    request: AnyRequest,
    choice: Chosen,
    *,
    values: dict[str, str],
    errors: FieldErrors,
    status: int = 200,
) -> Template:
    rt = runtime_of(request)
    zone = _zone(rt)
    monday = choice.start.astimezone(zone).date()
    monday -= timedelta(days=monday.weekday())
    back = _query(
        leistung=[s.key for s in choice.services], ort="standort", standort=choice.office.key, woche=monday
    )
    return await render(
        request,
        "appointments/book.html",
        status_code=status,
        title=_("Termin buchen: Ihre Angaben"),
        choice=choice,
        start_value=choice.start.isoformat(),
        values=values,
        errors=errors,
        back_link=f"/termine/zeiten?{back}",
        hold_minutes=services.HOLD_MINUTES,
        contact=_contact(rt),
    )


@get("/termine/buchen", include_in_schema=False)
async def booking_form(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    params = request.query_params
    try:
        start_at = _parse_start(params.get("beginn"))
        if start_at <= rt.clock.now():
            raise AppointmentError(
                _("Dieser Zeitpunkt liegt in der Vergangenheit. Bitte wählen Sie eine andere Zeit."), "start"
            )
        async with rt.sessions() as db:
            choice = await _chosen(db, rt, _keys(request), params.get("standort") or "", start_at)
    except AppointmentError as exc:
        return await _error_page(request, exc)
    user = await current_user(request)
    values = {"request_key": secrets.token_urlsafe(24)}
    if user is not None:
        values.update(email=user.email or "", name=user.display_name or "")
    return await _booking_form(request, choice, values=values, errors={})


@post("/termine/buchen", include_in_schema=False)
async def booking_submit(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    form = await request.form()
    keys = [key for key in form.getall("leistung", []) if isinstance(key, str) and key]
    values = {name: str(form.get(name) or "") for name in ("email", "name", "request_key", "standort")}
    user = await current_user(request)
    now = rt.clock.now()
    try:
        start_at = _parse_start(str(form.get("beginn") or ""))
        async with rt.sessions() as db:
            choice = await _chosen(db, rt, keys, values["standort"], start_at)
    except AppointmentError as exc:
        return await _error_page(request, exc)
    booking_request = services.Request(
        office_key=values["standort"],
        service_keys=keys,
        starts_at=start_at,
        email=values["email"],
        name=values["name"],
        user_id=user.id if user else None,
        source=_ip(request),
        request_key=values["request_key"][:64] or None,
        channel="online",
    )
    try:
        async with rt.sessions() as db, db.begin():
            held = await workflow.book(db, booking_request, runtime=rt, now=now, base_url=_base_url(request))
            info = await mails.summary(db, held.booking, runtime=rt, base_url=_base_url(request))
    except AppointmentError as exc:
        field = "email" if exc.field == "email" else "termin"
        return await _booking_form(
            request, choice, values=values, errors={field: exc.message}, status=exc.status_code
        )
    except IntegrityError:
        # Two submits of the same form at the same moment: the second hit the unique request key.
        async with rt.sessions() as db:
            earlier = await db.scalar(
                select(m.Booking).where(m.Booking.request_key == booking_request.request_key)
            )
            if earlier is None:
                raise
            info = await mails.summary(db, earlier, runtime=rt, base_url=_base_url(request))
    return await render(
        request,
        "appointments/check_mail.html",
        title=_("Bitte prüfen Sie Ihr Postfach"),
        info=info,
        hold_minutes=services.HOLD_MINUTES,
        contact=_contact(rt),
    )


# --- 5. confirm, manage, move, cancel (the mailed link, no login) -----------------------------------


async def _booking(db: AsyncSession, token: str) -> m.Booking:
    if len(token) > 80:
        raise NotFound(_("Diesen Termin gibt es nicht (mehr). Bitte prüfen Sie den Link aus Ihrer E-Mail."))
    return await services.booking_by_token(db, token)


def _hold_expired(booking: m.Booking, now: datetime) -> bool:
    return booking.status == m.EXPIRED or (
        booking.status == m.HELD and booking.hold_expires_at is not None and booking.hold_expires_at <= now
    )


@get("/termine/b/{token:str}/bestaetigen", include_in_schema=False)
async def confirm_page(request: AnyRequest, token: FromPath[str]) -> Template:
    """Shows the booking and a button: mail scanners open links, so a GET never confirms."""
    rt = runtime_of(request)
    now = rt.clock.now()
    try:
        async with rt.sessions() as db:
            booking = await _booking(db, token)
            info = await mails.summary(db, booking, runtime=rt, base_url=_base_url(request))
    except AppointmentError as exc:
        return await _error_page(request, exc)
    if _hold_expired(booking, now):
        return await _refusal(
            request,
            _(
                "Die Reservierung ist abgelaufen, weil sie nicht innerhalb von %(minutes)s Minuten bestätigt wurde. Bitte buchen Sie neu.",
                minutes=services.HOLD_MINUTES,
            ),
            410,
        )
    return await render(
        request,
        "appointments/confirm.html",
        title=_("Termin bestätigen"),
        info=info,
        token=token,
        status=booking.status,
        contact=_contact(rt),
    )


@post("/termine/b/{token:str}/bestaetigen", include_in_schema=False)
async def confirm_submit(request: AnyRequest, token: FromPath[str]) -> Template | Redirect:
    rt = runtime_of(request)
    try:
        async with rt.sessions() as db, db.begin():
            await _booking(db, token)
            await workflow.confirm(db, token, runtime=rt, now=rt.clock.now(), base_url=_base_url(request))
    except AppointmentError as exc:
        return await _error_page(request, exc)
    return Redirect(f"/termine/b/{token}?hinweis=bestaetigt", status_code=303)


def _notices() -> dict[str, str]:
    return {
        "bestaetigt": _(
            "Ihr Termin ist bestätigt. Eine E-Mail mit Buchungscode, QR-Code und Kalendereintrag ist unterwegs."
        ),
        "verschoben": _("Ihr Termin ist verschoben. Sie bekommen eine E-Mail mit der neuen Zeit."),
        "abgesagt": _("Ihr Termin ist abgesagt. Die Zeit ist wieder frei für andere."),
    }


@get("/termine/b/{token:str}", include_in_schema=False)
async def manage(request: AnyRequest, token: FromPath[str]) -> Template:
    rt = runtime_of(request)
    now = rt.clock.now()
    try:
        async with rt.sessions() as db:
            booking = await _booking(db, token)
            info = await mails.summary(db, booking, runtime=rt, base_url=_base_url(request))
    except AppointmentError as exc:
        return await _error_page(request, exc)
    notice = _notices().get(request.query_params.get("hinweis") or "")
    changeable = booking.status in m.OPEN and booking.starts_at > now and not _hold_expired(booking, now)
    qr = (
        segno.make(booking.code, error="m").svg_inline(omitsize=True, title=_("QR-Code des Buchungscodes"))
        if booking.status == m.CONFIRMED
        else ""
    )
    return await render(
        request,
        "appointments/manage.html",
        title=_("Ihr Termin"),
        info=info,
        token=token,
        status=booking.status,
        expired=_hold_expired(booking, now),
        changeable=changeable,
        flashes=[{"category": "success", "message": notice}] if notice else [],
        qr=qr,
        contact=_contact(rt),
    )


async def _move_page(
    request: AnyRequest, token: str, *, error: str | None = None, status: int = 200
) -> Template:
    rt = runtime_of(request)
    zone = _zone(rt)
    now = rt.clock.now()
    async with rt.sessions() as db:
        booking = await _booking(db, token)
        if booking.status not in m.OPEN or booking.starts_at <= now or _hold_expired(booking, now):
            raise AppointmentError(_("Dieser Termin kann nicht mehr geändert werden."))
        info = await mails.summary(db, booking, runtime=rt, base_url=_base_url(request))
        # Without a week chosen: the week of the appointment, where a nearby time is most likely wanted.
        monday = _parse_week(request.query_params.get("woche"), booking.starts_at.astimezone(zone).date())
        days = await _week(db, rt, info.office, info.services, monday, exclude_booking=booking)
    previous, following, label = _week_nav(rt, monday)
    path = f"/termine/b/{token}/verschieben"
    return await render(
        request,
        "appointments/calendar.html",
        status_code=status,
        title=_("Termin verschieben"),
        office=info.office,
        chosen=info.services,
        keys=[s.key for s in info.services],
        minutes=info.minutes,
        days=days,
        week_label=label,
        previous_link=f"{path}?{_query(woche=previous)}" if previous else None,
        next_link=f"{path}?{_query(woche=following)}" if following else None,
        earliest_link=None,
        earliest_text="",
        move_token=token,
        info=info,
        error=error,
        contact=_contact(rt),
    )


@get("/termine/b/{token:str}/verschieben", include_in_schema=False)
async def move_page(request: AnyRequest, token: FromPath[str]) -> Template:
    try:
        return await _move_page(request, token)
    except AppointmentError as exc:
        return await _error_page(request, exc)


@post("/termine/b/{token:str}/verschieben", include_in_schema=False)
async def move_submit(request: AnyRequest, token: FromPath[str]) -> Template | Redirect:
    rt = runtime_of(request)
    form = await request.form()
    try:
        new_start = _parse_start(str(form.get("beginn") or ""))
        async with rt.sessions() as db, db.begin():
            await _booking(db, token)
            await workflow.move(
                db, token, new_start, runtime=rt, now=rt.clock.now(), base_url=_base_url(request)
            )
    except AppointmentError as exc:
        try:
            return await _move_page(request, token, error=exc.message, status=exc.status_code)
        except AppointmentError as again:
            return await _error_page(request, again)
    return Redirect(f"/termine/b/{token}?hinweis=verschoben", status_code=303)


@post("/termine/b/{token:str}/absagen", include_in_schema=False)
async def cancel_submit(request: AnyRequest, token: FromPath[str]) -> Template | Redirect:
    rt = runtime_of(request)
    try:
        async with rt.sessions() as db, db.begin():
            await _booking(db, token)
            await workflow.cancel(db, token, runtime=rt, now=rt.clock.now(), base_url=_base_url(request))
    except AppointmentError as exc:
        return await _error_page(request, exc)
    return Redirect(f"/termine/b/{token}?hinweis=abgesagt", status_code=303)


# --- 7. my appointments ---------------------------------------------------------------------------------


def _status_labels() -> dict[str, str]:
    return {
        m.HELD: _("reserviert, noch nicht bestätigt"),
        m.CONFIRMED: _("bestätigt"),
        m.CHECKED_IN: _("angemeldet vor Ort"),
        m.CALLED: _("aufgerufen"),
        m.DONE: _("erledigt"),
        m.NO_SHOW: _("nicht erschienen"),
        m.CANCELLED: _("abgesagt"),
        m.EXPIRED: _("verfallen (nicht bestätigt)"),
    }


@get("/termine/meine", include_in_schema=False, guards=[login_required])
async def my_appointments(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None  # the guard
    now = rt.clock.now()
    async with rt.sessions() as db:
        rows = [
            await mails.summary(db, booking, runtime=rt, base_url=_base_url(request))
            for booking in await services.bookings_of_user(db, user.id)
        ]
    upcoming = [info for info in rows if info.booking.ends_at > now and info.booking.status in m.OCCUPYING]
    upcoming.sort(key=lambda info: info.booking.starts_at)
    past = [info for info in rows if info not in upcoming]
    return await render(
        request,
        "appointments/mine.html",
        title=_("Meine Termine"),
        upcoming=upcoming,
        past=past,
        labels=_status_labels(),
        contact=_contact(rt),
    )


# --- 8. service pages ---------------------------------------------------------------------------------------


@get("/termine/leistungen/{key:str}", include_in_schema=False)
async def service_page(request: AnyRequest, key: FromPath[str]) -> Template:
    rt = runtime_of(request)
    async with rt.sessions() as db:
        service = await db.scalar(select(m.Service).where(m.Service.key == key, m.Service.active))
        if service is None:
            return await _refusal(request, _("Die Leistung „%(key)s“ gibt es nicht.", key=key), 404)
        offices = await services.offices_offering(db, [service])
    return await render(
        request,
        "appointments/service.html",
        title=service.name,
        service=service,
        offices=offices,
        city_offices={o.key: o for o in rt.city.offices},
        contact=_contact(rt),
    )


ROUTES: list[ControllerRouterHandler] = [
    start,
    choose_place,
    free_times,
    booking_form,
    booking_submit,
    confirm_page,
    confirm_submit,
    manage,
    move_page,
    move_submit,
    cancel_submit,
    my_appointments,
    service_page,
    create_static_files_router(
        path="/static/termine", directories=[str(STATIC)], include_in_schema=False, name="appointments-static"
    ),
]
