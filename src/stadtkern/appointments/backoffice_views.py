"""Back-office pages (``/verwaltung/termine``) and the public call display (``/termine/aufruf/…``).

Thin handlers: the rules are in ``backoffice.py``. Clerks see only the offices their role is scoped to;
an office outside the scope answers 403.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.appointments import backoffice as bo
from stadtkern.appointments import mails, services
from stadtkern.appointments import models as m
from stadtkern.appointments.errors import AppointmentError, NotFound
from stadtkern.core.accounts.models import User
from stadtkern.core.i18n import current_locale
from stadtkern.core.i18n import gettext as _
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.web.auth import current_user, role_required
from stadtkern.web.forms import Form
from stadtkern.web.runtime import Runtime, runtime_of
from stadtkern.web.templating import render

STAFF = [role_required(*bo.STAFF_ROLES)]
BASE = "/verwaltung/termine"
CSS = Path(__file__).resolve().parent / "templates" / "appointments" / "backoffice" / "backoffice.css"
POLL_SECONDS = 4
AnyRequest = Request[Any, Any, Any]

STATUS_LABELS = {
    m.HELD: _l("reserviert"),
    m.CONFIRMED: _l("bestätigt"),
    m.CHECKED_IN: _l("eingecheckt"),
    m.CALLED: _l("aufgerufen"),
    m.DONE: _l("erledigt"),
    m.NO_SHOW: _l("nicht erschienen"),
    m.CANCELLED: _l("abgesagt"),
    m.EXPIRED: _l("abgelaufen"),
    bo.WAITING: _l("wartet"),
}
CHANNEL_LABELS = {"online": _l("online"), "phone": _l("Telefon"), "counter": _l("Schalter")}
WEEKDAY_NAMES = (
    _l("Montag"),
    _l("Dienstag"),
    _l("Mittwoch"),
    _l("Donnerstag"),
    _l("Freitag"),
    _l("Samstag"),
    _l("Sonntag"),
)


def _notices() -> dict[str, str]:
    return {
        "eingecheckt": _("Eingecheckt. Aufrufnummer: %(nummer)s"),
        "aufgerufen": _("Aufgerufen: %(nummer)s an %(schalter)s"),
        "niemand": _("Niemand wartet."),
        "wartend": _("Wartenummer vergeben: %(nummer)s"),
        "nicht-erschienen": _("Als nicht erschienen markiert."),
        "erledigt": _("Als erledigt markiert."),
        "gesperrt": _("Die Sperre ist eingetragen."),
        "sperre-geloescht": _("Die Sperre ist aufgehoben."),
        "gespeichert": _("Die Einstellungen sind gespeichert."),
        "schliessung": _("Die Schließung ist eingetragen."),
        "schliessung-geloescht": _("Die Schließung ist gelöscht."),
    }


def _flashes(request: AnyRequest) -> list[dict[str, str]]:
    key = request.query_params.get("hinweis", "")
    message = _notices().get(key)
    if not message:
        return []
    values = {
        "nummer": request.query_params.get("nummer", "")[:16],
        "schalter": request.query_params.get("schalter", "")[:32],
    }
    category = "warning" if key == "niemand" else "success"
    return [{"category": category, "message": message % values if "%(" in message else message}]


def _tz(rt: Runtime) -> ZoneInfo:
    return ZoneInfo(rt.city.city.timezone)


def _today(rt: Runtime) -> date:
    return rt.clock.now().astimezone(_tz(rt)).date()


async def _staff(request: AnyRequest) -> User:
    user = await current_user(request)
    if user is None:  # the guard prevents this
        raise PermissionDeniedException()
    return user


async def _office(session: AsyncSession, user: User, key: str) -> m.Office:
    try:
        return await bo.office_for(session, user, key)
    except bo.Forbidden as exc:
        raise PermissionDeniedException(exc.message) from None
    except NotFound as exc:
        raise NotFoundException(exc.message) from None


def _day_url(office_key: str, day: date, **query: str) -> str:
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{BASE}/{office_key}/{day.isoformat()}{suffix}"


def _local(rt: Runtime) -> Callable[[datetime | None, str], str]:
    tz = _tz(rt)

    def fmt(value: datetime | None, pattern: str = "%H:%M") -> str:
        if value is None:
            return ""
        return bo.as_utc(value).astimezone(tz).strftime(pattern)

    return fmt


def number(value: float, digits: int = 1) -> str:
    """A decimal number in the current locale (``12,5`` in German)."""
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return format_decimal(round(value, digits), format=pattern, locale=current_locale())


def _labels() -> dict[str, Any]:
    return {
        "number": number,
        "status_labels": {k: str(v) for k, v in STATUS_LABELS.items()},
        "channel_labels": {k: str(v) for k, v in CHANNEL_LABELS.items()},
        "weekday_names": [str(n) for n in WEEKDAY_NAMES],
    }


# --- overview and day view -------------------------------------------------------------------------


@get(BASE, include_in_schema=False, guards=STAFF, name="appointments-backoffice")
async def overview(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    user = await _staff(request)
    async with rt.sessions() as session:
        offices = await bo.visible_offices(session, user)
        sources = await bo.suspicious_sources(session, offices, now=rt.clock.now())
    return await render(
        request,
        "appointments/backoffice/overview.html",
        title=_("Terminverwaltung"),
        offices=offices,
        today=_today(rt),
        sources=sources,
        threshold=services.SUSPICIOUS_PER_DAY,
        is_admin=user.has_role("admin"),
    )


@get(f"{BASE}/{{office_key:str}}", include_in_schema=False, guards=STAFF)
async def office_today(request: AnyRequest, office_key: FromPath[str]) -> Redirect:
    rt = runtime_of(request)
    user = await _staff(request)
    async with rt.sessions() as session:
        office = await _office(session, user, office_key)
    return Redirect(_day_url(office.key, _today(rt)))


async def _day_page(
    request: AnyRequest,
    office_key: str,
    day: date,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    rt = runtime_of(request)
    user = await _staff(request)
    now = rt.clock.now()
    async with rt.sessions() as session:
        office = await _office(session, user, office_key)
        view = await bo.day_view(session, user, office, day, now=now, timezone=_tz(rt))
        calls = await bo.recent_calls(session, office, now=now, timezone=_tz(rt), limit=5)
        waiting = await bo.waiting_count(session, office, now=now, timezone=_tz(rt))
        offered = await bo.office_services(session, office)
        await session.commit()
    today = _today(rt)
    counter = str(request.session.get("schalter", "")) if request.session else ""
    return await render(
        request,
        "appointments/backoffice/day.html",
        status_code=status_code,
        title=_("%(office)s am %(day)s", office=office.name, day=day.strftime("%d.%m.%Y")),
        office=office,
        view=view,
        day=day,
        today=today,
        is_today=day == today,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        now=now,
        calls=calls,
        waiting=waiting,
        offered=[s for s, _n in offered],
        counter=counter,
        errors=errors or {},
        values=values or {},
        flashes=_flashes(request),
        fmt=_local(rt),
        **_labels(),
    )


def _parse_day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise NotFoundException() from None


@get(f"{BASE}/{{office_key:str}}/{{day:str}}", include_in_schema=False, guards=STAFF)
async def day_page(request: AnyRequest, office_key: FromPath[str], day: FromPath[str]) -> Template:
    return await _day_page(request, office_key, _parse_day(day))


async def _act(
    request: AnyRequest,
    office_key: str,
    action: Callable[[AsyncSession, User, m.Office], Awaitable[dict[str, str]]],
    *,
    day: date | None = None,
    values: dict[str, str] | None = None,
) -> Template | Redirect:
    """Run ``action`` on the office and go back to the day view (with its message or the error)."""
    rt = runtime_of(request)
    user = await _staff(request)
    target = day or _today(rt)
    async with rt.sessions() as session:
        office = await _office(session, user, office_key)
        try:
            query = await action(session, user, office)
        except AppointmentError as exc:
            await session.rollback()
            return await _day_page(
                request,
                office_key,
                target,
                errors={exc.field or "fehler": exc.message},
                values=values,
                status_code=exc.status_code if exc.status_code < 500 else 400,
            )
        await session.commit()
    return Redirect(_day_url(office_key, target, **query))


def _form_day(data: dict[str, str], rt: Runtime) -> date:
    try:
        return date.fromisoformat(data.get("tag", ""))
    except ValueError:
        return _today(rt)


@post(f"{BASE}/{{office_key:str}}/einchecken", include_in_schema=False, guards=STAFF)
async def check_in(request: AnyRequest, office_key: FromPath[str], data: Form) -> Template | Redirect:
    rt = runtime_of(request)

    async def action(session: AsyncSession, _user: User, office: m.Office) -> dict[str, str]:
        booking = await bo.check_in(
            session, office, data.get("code", ""), now=rt.clock.now(), timezone=_tz(rt)
        )
        return {"hinweis": "eingecheckt", "nummer": booking.call_number or ""}

    return await _act(request, office_key, action, values={"code": data.get("code", "")})


@post(f"{BASE}/{{office_key:str}}/aufrufen", include_in_schema=False, guards=STAFF)
async def call_next(request: AnyRequest, office_key: FromPath[str], data: Form) -> Template | Redirect:
    rt = runtime_of(request)
    counter = data.get("schalter", "").strip()[:32]
    if counter and request.session is not None:
        request.set_session({**request.session, "schalter": counter})

    async def action(session: AsyncSession, _user: User, office: m.Office) -> dict[str, str]:
        call = await bo.call_next(session, office, counter, now=rt.clock.now(), timezone=_tz(rt))
        if call is None:
            return {"hinweis": "niemand"}
        return {"hinweis": "aufgerufen", "nummer": call.call_number, "schalter": call.counter}

    return await _act(request, office_key, action, values={"schalter": counter})


@post(f"{BASE}/{{office_key:str}}/wartende", include_in_schema=False, guards=STAFF)
async def walk_in(request: AnyRequest, office_key: FromPath[str], data: Form) -> Template | Redirect:
    rt = runtime_of(request)

    async def action(session: AsyncSession, _user: User, office: m.Office) -> dict[str, str]:
        entry = await bo.register_walk_in(
            session,
            office,
            name=data.get("vorname", ""),
            service_key=data.get("leistung", ""),
            now=rt.clock.now(),
            timezone=_tz(rt),
        )
        return {"hinweis": "wartend", "nummer": entry.call_number}

    return await _act(request, office_key, action)


@post(f"{BASE}/{{office_key:str}}/nicht-erschienen/{{booking_id:int}}", include_in_schema=False, guards=STAFF)
async def no_show(
    request: AnyRequest, office_key: FromPath[str], booking_id: FromPath[int], data: Form
) -> Template | Redirect:
    rt = runtime_of(request)

    async def action(session: AsyncSession, _user: User, office: m.Office) -> dict[str, str]:
        await bo.mark_no_show(session, office, booking_id, now=rt.clock.now())
        return {"hinweis": "nicht-erschienen"}

    return await _act(request, office_key, action, day=_form_day(data, rt))


@post(
    f"{BASE}/{{office_key:str}}/erledigt/{{kind:str}}/{{item_id:int}}", include_in_schema=False, guards=STAFF
)
async def done(
    request: AnyRequest, office_key: FromPath[str], kind: FromPath[str], item_id: FromPath[int], data: Form
) -> Template | Redirect:
    rt = runtime_of(request)

    async def action(session: AsyncSession, _user: User, office: m.Office) -> dict[str, str]:
        await bo.mark_done(session, office, kind, item_id)
        return {"hinweis": "erledigt"}

    return await _act(request, office_key, action, day=_form_day(data, rt))


# --- blocks ----------------------------------------------------------------------------------------


async def _blocks_page(
    request: AnyRequest,
    office_key: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    created: bo.NewBlock | None = None,
    status_code: int = 200,
) -> Template:
    rt = runtime_of(request)
    user = await _staff(request)
    now = rt.clock.now()
    async with rt.sessions() as session:
        office = await _office(session, user, office_key)
        blocks = await bo.blocks_of(session, office, now=now)
        if created is not None and created.affected:
            await bo.record_read(
                session, user, now=now, target=f"termine/{office.key}/sperren", bookings=created.affected
            )
        names = await bo.service_names(session)
        await session.commit()
    return await render(
        request,
        "appointments/backoffice/blocks.html",
        status_code=status_code,
        title=_("Zeiten sperren – %(office)s", office=office.name),
        office=office,
        blocks=blocks,
        created=created,
        services=names,
        errors=errors or {},
        values=values or {"tag": _today(rt).isoformat()},
        flashes=_flashes(request),
        fmt=_local(rt),
        today=_today(rt),
        **_labels(),
    )


@get(f"{BASE}/{{office_key:str}}/sperren", include_in_schema=False, guards=STAFF)
async def blocks_page(request: AnyRequest, office_key: FromPath[str]) -> Template:
    return await _blocks_page(request, office_key)


@post(f"{BASE}/{{office_key:str}}/sperren", include_in_schema=False, guards=STAFF)
async def create_block(request: AnyRequest, office_key: FromPath[str], data: Form) -> Template:
    rt = runtime_of(request)
    user = await _staff(request)
    values = dict(data)
    async with rt.sessions() as session:
        office = await _office(session, user, office_key)
        try:
            whole = data.get("umfang", "alle") == "alle"
            counters: int | None = None
            if not whole:
                try:
                    counters = int(data.get("schalter", "").strip())
                except ValueError:
                    raise AppointmentError(
                        _("Bitte geben Sie die Zahl der Schalter an."), "schalter"
                    ) from None
            created = await bo.create_block(
                session,
                office,
                day=bo.parse_day(data.get("tag", ""), "tag"),
                starts=bo.parse_time(data.get("von", ""), "von"),
                ends=bo.parse_time(data.get("bis", ""), "bis"),
                counters=counters,
                reason=data.get("grund", ""),
                by=user.id,
                now=rt.clock.now(),
                timezone=_tz(rt),
            )
        except AppointmentError as exc:
            await session.rollback()
            field = {"ends": "bis", "counters": "schalter", "reason": "grund", "day": "tag"}.get(
                exc.field or "", exc.field or "tag"
            )
            return await _blocks_page(
                request, office_key, errors={field: exc.message}, values=values, status_code=400
            )
        await session.commit()
    return await _blocks_page(request, office_key, created=created)


@post(f"{BASE}/{{office_key:str}}/sperren/{{block_id:int}}/aufheben", include_in_schema=False, guards=STAFF)
async def delete_block(
    request: AnyRequest, office_key: FromPath[str], block_id: FromPath[int], data: Form
) -> Redirect:
    rt = runtime_of(request)
    user = await _staff(request)
    async with rt.sessions() as session:
        office = await _office(session, user, office_key)
        try:
            await bo.delete_block(session, office, block_id)
        except NotFound as exc:
            raise NotFoundException(exc.message) from None
        await session.commit()
    return Redirect(f"{BASE}/{office_key}/sperren?hinweis=sperre-geloescht")


# --- booking on behalf -----------------------------------------------------------------------------


async def _behalf_page(
    request: AnyRequest,
    office_key: str,
    *,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    rt = runtime_of(request)
    user = await _staff(request)
    now = rt.clock.now()
    tz = _tz(rt)
    chosen: list[str] = values.get("leistungen", [])
    day_raw = str(values.get("tag") or _today(rt).isoformat())
    errors = dict(errors or {})
    times: list[datetime] = []
    next_free: datetime | None = None
    async with rt.sessions() as session:
        office = await _office(session, user, office_key)
        offered = [s for s, _n in await bo.office_services(session, office)]
        try:
            day = date.fromisoformat(day_raw)
        except ValueError:
            day = _today(rt)
            errors.setdefault("tag", _("Bitte geben Sie ein Datum an (TT.MM.JJJJ)."))
        if chosen and "leistungen" not in errors:
            try:
                picked = await services.services_by_keys(session, chosen)
                times = await services.free_times(
                    session, office, picked, first_day=day, days=1, now=now, timezone=tz
                )
                if not times:
                    later = await services.free_times(
                        session,
                        office,
                        picked,
                        first_day=day + timedelta(days=1),
                        days=14,
                        now=now,
                        timezone=tz,
                    )
                    next_free = later[0] if later else None
            except AppointmentError as exc:
                errors.setdefault(exc.field or "leistungen", exc.message)
    return await render(
        request,
        "appointments/backoffice/behalf.html",
        status_code=status_code,
        title=_("Termin für eine Person buchen – %(office)s", office=office.name),
        office=office,
        offered=offered,
        chosen=chosen,
        day=day,
        times=times,
        next_free=next_free,
        values=values,
        errors=errors,
        request_key=secrets.token_urlsafe(16),
        fmt=_local(rt),
        **_labels(),
    )


@get(f"{BASE}/{{office_key:str}}/buchen", include_in_schema=False, guards=STAFF)
async def behalf_form(request: AnyRequest, office_key: FromPath[str]) -> Template:
    values: dict[str, Any] = {
        "leistungen": request.query_params.getall("leistungen", []),
        "tag": request.query_params.get("tag", ""),
    }
    return await _behalf_page(request, office_key, values=values)


@post(f"{BASE}/{{office_key:str}}/buchen", include_in_schema=False, guards=STAFF)
async def behalf_book(request: AnyRequest, office_key: FromPath[str]) -> Template:
    rt = runtime_of(request)
    user = await _staff(request)
    form = await request.form()
    chosen = [str(v) for v in form.getall("leistungen", [])]
    values: dict[str, Any] = {
        k: str(form.get(k, "")) for k in ("tag", "zeit", "name", "telefon", "email", "kanal")
    }
    values["leistungen"] = chosen
    now = rt.clock.now()
    try:
        starts_at = datetime.fromisoformat(values["zeit"]).astimezone(UTC)
    except ValueError:
        return await _behalf_page(
            request,
            office_key,
            values=values,
            errors={"zeit": _("Bitte wählen Sie eine Uhrzeit.")},
            status_code=400,
        )
    async with rt.sessions() as session:
        office = await _office(session, user, office_key)
        try:
            held = await bo.book_on_behalf(
                session,
                user,
                office,
                service_keys=chosen,
                starts_at=starts_at,
                name=values["name"],
                phone=values["telefon"],
                email=values["email"],
                channel=values["kanal"],
                request_key=str(form.get("request_key", "")) or None,
                now=now,
                timezone=_tz(rt),
                secret_key=rt.settings.secret_key,
            )
        except AppointmentError as exc:
            await session.rollback()
            field = {"start": "zeit", "services": "leistungen", "phone": "telefon"}.get(
                exc.field or "", exc.field or "zeit"
            )
            return await _behalf_page(
                request, office_key, values=values, errors={field: exc.message}, status_code=400
            )
        booking = held.booking
        mailed = False
        if booking.email and not held.repeated:
            base_url = (rt.settings.public_url or str(request.base_url)).rstrip("/")
            await mails.send_confirmation(session, booking, runtime=rt, now=now, base_url=base_url)
            mailed = True
        await bo.record_read(
            session, user, now=now, target=f"termine/{office.key}/buchen", bookings=[booking]
        )
        names = await services.services_of(session, booking)
        await session.commit()
    return await render(
        request,
        "appointments/backoffice/booked.html",
        title=_("Termin gebucht"),
        office=office,
        booking=booking,
        service_list=names,
        mailed=mailed,
        fmt=_local(rt),
        **_labels(),
    )


# --- statistics ------------------------------------------------------------------------------------


@get(f"{BASE}/statistik", include_in_schema=False, guards=STAFF)
async def statistics_page(
    request: AnyRequest, von: FromQuery[str] = "", bis: FromQuery[str] = "", standort: FromQuery[str] = ""
) -> Template:
    rt = runtime_of(request)
    user = await _staff(request)
    today = _today(rt)
    errors: dict[str, str] = {}
    try:
        first = date.fromisoformat(von) if von else today - timedelta(days=29)
    except ValueError:
        first = today - timedelta(days=29)
        errors["von"] = _("Bitte geben Sie ein Datum an (TT.MM.JJJJ).")
    try:
        last = date.fromisoformat(bis) if bis else today
    except ValueError:
        last = today
        errors["bis"] = _("Bitte geben Sie ein Datum an (TT.MM.JJJJ).")
    async with rt.sessions() as session:
        offices = await bo.visible_offices(session, user)
        chosen = [o for o in offices if not standort or o.key == standort]
        try:
            stats = await bo.statistics(
                session, chosen, first_day=first, last_day=last, now=rt.clock.now(), timezone=_tz(rt)
            )
        except AppointmentError as exc:
            errors[exc.field or "bis"] = exc.message
            stats = await bo.statistics(
                session, chosen, first_day=first, last_day=first, now=rt.clock.now(), timezone=_tz(rt)
            )
    charts = {
        "bookings": bo.bars(
            [
                (o.name, float(stats.by_office[o.id].bookings), str(stats.by_office[o.id].bookings))
                for o in chosen
            ]
        ),
        "no_show": bo.bars(
            [
                (o.name, rate * 100, f"{number(rate * 100, 0)} %")
                for o in chosen
                if (rate := stats.by_office[o.id].no_show_rate) is not None
            ]
        ),
        "wait": bo.bars(
            [
                (o.name, wait, _("%(min)s Min.", min=number(wait)))
                for o in chosen
                if (wait := stats.by_office[o.id].average_wait) is not None
            ]
        ),
    }
    return await render(
        request,
        "appointments/backoffice/statistics.html",
        status_code=400 if errors else 200,
        title=_("Terminstatistik"),
        stats=stats,
        offices=offices,
        standort=standort,
        first=first,
        last=last,
        errors=errors,
        charts=charts,
        **_labels(),
    )


# --- settings --------------------------------------------------------------------------------------


async def _settings_page(
    request: AnyRequest,
    office_key: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    rt = runtime_of(request)
    user = await _staff(request)
    async with rt.sessions() as session:
        office = await _office(session, user, office_key)
        hours = await bo.opening_hours(session, office)
        closures = await bo.closures_of(session, office, today=_today(rt))
        offered = await bo.office_services(session, office)
    form_values = {f"tag{d}": bo.format_intervals(iv) for d, iv in hours.items()}
    form_values["counters"] = str(office.counters)
    form_values.update({f"dienst_{s.key}": str(n) for s, n in offered})
    form_values.update(values or {})
    return await render(
        request,
        "appointments/backoffice/settings.html",
        status_code=status_code,
        title=_("Einstellungen – %(office)s", office=office.name),
        office=office,
        closures=closures,
        offered=offered,
        values=form_values,
        errors=errors or {},
        flashes=_flashes(request),
        **_labels(),
    )


@get(f"{BASE}/{{office_key:str}}/einstellungen", include_in_schema=False, guards=STAFF)
async def settings_page(request: AnyRequest, office_key: FromPath[str]) -> Template:
    return await _settings_page(request, office_key)


async def _save(
    request: AnyRequest,
    office_key: str,
    data: dict[str, str],
    action: Callable[[AsyncSession, m.Office], Awaitable[None]],
    notice: str,
) -> Template | Redirect:
    rt = runtime_of(request)
    user = await _staff(request)
    async with rt.sessions() as session:
        office = await _office(session, user, office_key)
        try:
            await action(session, office)
        except NotFound as exc:
            raise NotFoundException(exc.message) from None
        except AppointmentError as exc:
            await session.rollback()
            return await _settings_page(
                request, office_key, errors={exc.field or "fehler": exc.message}, values=data, status_code=400
            )
        await session.commit()
    return Redirect(f"{BASE}/{office_key}/einstellungen?hinweis={notice}")


@post(f"{BASE}/{{office_key:str}}/einstellungen/zeiten", include_in_schema=False, guards=STAFF)
async def save_hours(request: AnyRequest, office_key: FromPath[str], data: Form) -> Template | Redirect:
    async def action(session: AsyncSession, office: m.Office) -> None:
        await bo.save_opening_hours(session, office, {d: data.get(f"tag{d}", "") for d in range(7)})

    return await _save(request, office_key, dict(data), action, "gespeichert")


@post(f"{BASE}/{{office_key:str}}/einstellungen/schalter", include_in_schema=False, guards=STAFF)
async def save_counters(request: AnyRequest, office_key: FromPath[str], data: Form) -> Template | Redirect:
    async def action(session: AsyncSession, office: m.Office) -> None:
        await bo.save_counters(session, office, dict(data))

    return await _save(request, office_key, dict(data), action, "gespeichert")


@post(f"{BASE}/{{office_key:str}}/einstellungen/schliessungen", include_in_schema=False, guards=STAFF)
async def add_closure(request: AnyRequest, office_key: FromPath[str], data: Form) -> Template | Redirect:
    async def action(session: AsyncSession, office: m.Office) -> None:
        await bo.add_closure(
            session,
            office,
            first_day=bo.parse_day(data.get("first_day", ""), "first_day"),
            last_day=bo.parse_day(data.get("last_day", ""), "last_day"),
            reason=data.get("closure_reason", ""),
        )

    return await _save(request, office_key, dict(data), action, "schliessung")


@post(
    f"{BASE}/{{office_key:str}}/einstellungen/schliessungen/{{closure_id:int}}/loeschen",
    include_in_schema=False,
    guards=STAFF,
)
async def delete_closure(
    request: AnyRequest, office_key: FromPath[str], closure_id: FromPath[int], data: Form
) -> Template | Redirect:
    async def action(session: AsyncSession, office: m.Office) -> None:
        await bo.delete_closure(session, office, closure_id)

    return await _save(request, office_key, dict(data), action, "schliessung-geloescht")


# --- the public call display -----------------------------------------------------------------------


async def _display_data(request: AnyRequest, office_key: str) -> tuple[m.Office, list[bo.Call]]:
    rt = runtime_of(request)
    async with rt.sessions() as session:
        try:
            office = await services.office_by_key(session, office_key)
        except NotFound as exc:
            raise NotFoundException(exc.message) from None
        calls = await bo.recent_calls(session, office, now=rt.clock.now(), timezone=_tz(rt))
    return office, calls


@get("/termine/aufruf/{office_key:str}", include_in_schema=False)
async def call_display(request: AnyRequest, office_key: FromPath[str]) -> Template:
    rt = runtime_of(request)
    office, calls = await _display_data(request, office_key)
    return Template(
        template_name="appointments/backoffice/display.html",
        context={
            "office": office,
            "calls": calls,
            "version": bo.calls_version(calls),
            "poll": POLL_SECONDS,
            "city": rt.city,
            "fmt": _local(rt),
        },
    )


@get("/termine/aufruf/{office_key:str}/liste", include_in_schema=False)
async def call_display_list(
    request: AnyRequest, office_key: FromPath[str], stand: FromQuery[str] = ""
) -> Template | Response[None]:
    rt = runtime_of(request)
    office, calls = await _display_data(request, office_key)
    version = bo.calls_version(calls)
    if stand == version:
        return Response(None, status_code=204)  # htmx keeps the page as it is
    return Template(
        template_name="appointments/backoffice/display_list.html",
        context={
            "office": office,
            "calls": calls,
            "version": version,
            "poll": POLL_SECONDS,
            "fmt": _local(rt),
        },
    )


@get("/termine/aufruf.css", include_in_schema=False, cache=300)
async def stylesheet() -> Response[bytes]:
    return Response(CSS.read_bytes(), media_type="text/css; charset=utf-8")


ROUTES: list[ControllerRouterHandler] = [
    overview,
    statistics_page,
    office_today,
    day_page,
    check_in,
    call_next,
    walk_in,
    no_show,
    done,
    blocks_page,
    create_block,
    delete_block,
    behalf_form,
    behalf_book,
    settings_page,
    save_hours,
    save_counters,
    add_closure,
    delete_closure,
    call_display,
    call_display_list,
    stylesheet,
]
