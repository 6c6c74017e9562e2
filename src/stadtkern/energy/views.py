"""The household's energy pages: ``/energie`` (activation, consumption) and ``/energie/tarifcheck``.

Handlers stay thin: ownership and activation are activation.py, the figures consumption.py and
services.py. A household only ever reads meters whose Datastream it owns (``activation.meter_of``); a meter
code of another household in the URL answers 404 like an unknown one.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from stadtkern.core.i18n import gettext as _
from stadtkern.db.engine import lock_for_writing
from stadtkern.energy import activation, consumption, services
from stadtkern.energy.tariff_check import FlexibleLoad, FlexibleLoadError
from stadtkern.energy.tariffs import tariffs_for
from stadtkern.web.auth import current_user, login_required
from stadtkern.web.forms import FieldErrors
from stadtkern.web.runtime import Runtime, runtime_of
from stadtkern.web.templating import render

AnyRequest = Request[Any, Any, Any]
STATIC = Path(__file__).resolve().parent / "static" / "energy"
VIEWS = ("tag", "woche", "monat", "jahr")


def _zone(rt: Runtime) -> str:
    return rt.city.city.timezone


def number(value: float, digits: int = 2) -> str:
    """German number format: 1.234,56."""
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def euro(value: float) -> str:
    return f"{number(value)} €"


def _notices() -> dict[str, str]:
    return {"aktiviert": _("Ihr Zähler ist freigeschaltet. Hier sehen Sie jetzt Ihren Verbrauch.")}


async def _user_and_meters(request: AnyRequest) -> tuple[Any, list[activation.Meter]]:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None  # the guard
    async with rt.sessions() as db:
        meters = await activation.meters_of(db, user.id)
    return user, meters


def _chosen(meters: list[activation.Meter], code: str | None) -> activation.Meter:
    if not code:
        return meters[0]
    for meter in meters:
        if meter.code == code:
            return meter
    # Another household's meter or none at all: the same answer, nothing to learn from it.
    raise NotFoundException(_("Diesen Zähler gibt es in Ihrem Konto nicht."))


async def _activation_page(
    request: AnyRequest,
    meters: list[activation.Meter],
    *,
    errors: FieldErrors | None = None,
    status: int = 200,
) -> Template:
    rt = runtime_of(request)
    return await render(
        request,
        "energy/activate.html",
        status_code=status,
        title=_("Stromzähler freischalten"),
        errors=errors or {},
        meters=meters,
        contact=rt.city.contacts.get("energy"),
    )


@get("/energie", include_in_schema=False, guards=[login_required], name="energy")
async def overview(request: AnyRequest) -> Template:
    """The household's consumption (``?zaehler=&ansicht=tag|woche|monat|jahr&datum=&profil=``)."""
    rt = runtime_of(request)
    user, meters = await _user_and_meters(request)
    if not meters:
        return await _activation_page(request, meters)
    params = request.query_params
    meter = _chosen(meters, params.get("zaehler"))
    zone = _zone(rt)
    now = rt.clock.now()
    today = now.astimezone(ZoneInfo(zone)).date()
    errors: FieldErrors = {}
    view = params.get("ansicht") or "monat"
    if view not in VIEWS:
        errors["ansicht"] = _("Bitte wählen Sie Tag, Woche, Monat oder Jahr.")
        view = "monat"
    try:
        day = date.fromisoformat(params["datum"]) if params.get("datum") else today
    except ValueError:
        errors["datum"] = _("Bitte geben Sie ein Datum an (TT.MM.JJJJ).")
        day = today
    profile = (params.get("profil") or "H25").upper()
    if profile not in consumption.PROFILES:
        errors["profil"] = _("Bitte wählen Sie H25 oder H0.")
        profile = "H25"
    year_start, year_end = consumption.last_twelve_months(now, zone)
    start, end, by = consumption.period_range(view, day, zone)
    async with rt.sessions() as db:
        year = await consumption.read_series(db, meter.datastream_id, year_start, year_end)
        series = await consumption.read_series(db, meter.datastream_id, start, end)
        fed = (
            await consumption.read_series(db, meter.feed_in_id, start, end)
            if meter.feed_in_id is not None
            else None
        )
    # The comparison household over the same quarter hours: sized on the last 12 months.
    standard = consumption.standard_household(year, zone, profile) if year.measured else None
    scale = float(standard.sum()) if standard is not None else 0.0
    period_profile = None
    if standard is not None and scale > 0:
        shares = consumption.profile_shares(series.ends, zone, profile)
        year_shares = consumption.profile_shares(year.ends, zone, profile).sum()
        period_profile = shares / year_shares * scale
    buckets = consumption.buckets(series, zone, by, period_profile, until=now)
    # A household with a PV system: the feed-in per period on the same quarter hours (None: no PV).
    feed_in = consumption.buckets(fed, zone, by, until=now) if fed is not None else None
    peaks = consumption.peaks(year, standard, zone) if standard is not None else None
    chart = {
        "labels": [b.short for b in buckets],
        "xLabel": _("Zeitabschnitt"),
        "own": [None if b.empty else round(b.kwh, 3) for b in buckets],
        "profile": [None if b.profile_kwh is None else round(b.profile_kwh, 3) for b in buckets],
        "unit": "kWh",
        "ownLabel": _("Ihr Verbrauch"),
        "profileLabel": _("Standardprofil %(name)s", name=profile),
    }
    if feed_in is not None:
        chart["feedIn"] = [None if b.empty else round(b.kwh, 3) for b in feed_in]
        chart["feedInLabel"] = _("Ihre Einspeisung")
    previous, following = _neighbours(view, day)
    return await render(
        request,
        "energy/overview.html",
        status_code=400 if errors else 200,
        title=_("Mein Stromverbrauch"),
        user=user,
        meters=meters,
        meter=meter,
        view=view,
        day=day,
        profile=profile,
        buckets=buckets,
        total=sum(b.kwh for b in buckets),
        missing=sum(b.missing for b in buckets),
        rows=_rows(buckets, feed_in),
        feed_in=feed_in,
        feed_in_total=sum(b.kwh for b in feed_in) if feed_in is not None else 0.0,
        feed_in_missing=sum(b.missing for b in feed_in) if feed_in is not None else 0,
        peaks=peaks,
        year=year,
        errors=errors,
        chart_json=json.dumps(chart),
        heading=_heading(view, day, start, zone),
        previous=previous,
        following=following,
        peak_at=local_time(peaks.peak_at, zone) if peaks else "",
        number=number,
        notice=_notices().get(params.get("hinweis") or ""),
        contact=rt.city.contacts.get("energy"),
    )


def _rows(
    buckets: list[consumption.Bucket], feed_in: list[consumption.Bucket] | None
) -> list[tuple[consumption.Bucket, consumption.Bucket | None]]:
    """Table rows: each period's consumption with its feed-in (None: the meter has no feed-in)."""
    if feed_in is None:
        return [(b, None) for b in buckets]
    return list(zip(buckets, feed_in, strict=True))


def _neighbours(view: str, day: date) -> tuple[date, date]:
    if view == "tag":
        return day - timedelta(days=1), day + timedelta(days=1)
    if view == "woche":
        return day - timedelta(days=7), day + timedelta(days=7)
    if view == "monat":
        first = day.replace(day=1)
        before = (first - timedelta(days=1)).replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
        return before, after
    return date(day.year - 1, 1, 1), date(day.year + 1, 1, 1)


def _heading(view: str, day: date, start: datetime, timezone: str) -> str:
    first = start.astimezone(ZoneInfo(timezone)).date()
    if view == "tag":
        return _("Verbrauch am %(date)s (je Viertelstunde)", date=day.strftime("%d.%m.%Y"))
    if view == "woche":
        return _("Verbrauch in der Woche ab %(date)s (je Tag)", date=first.strftime("%d.%m.%Y"))
    if view == "monat":
        return _("Verbrauch im Monat %(month)s (je Tag)", month=day.strftime("%m/%Y"))
    return _("Verbrauch im Jahr %(year)s (je Monat)", year=day.year)


@post("/energie/aktivieren", include_in_schema=False, guards=[login_required])
async def activate(request: AnyRequest) -> Template | Redirect:
    rt = runtime_of(request)
    user = await current_user(request)
    assert user is not None
    form = await request.form()
    code = str(form.get("code") or "").strip()
    if not code:
        async with rt.sessions() as db:
            meters = await activation.meters_of(db, user.id)
        return await _activation_page(
            request, meters, errors={"code": _("Bitte geben Sie den Code aus dem Brief ein.")}, status=400
        )
    problem: activation.ActivationError | None = None
    async with rt.sessions() as db, db.begin():
        await lock_for_writing(db)
        try:
            meter = await activation.redeem(
                db, user, code, secret_key=rt.settings.secret_key, now=rt.clock.now()
            )
        except activation.ActivationError as exc:
            problem = exc  # caught inside the transaction: the failed attempt is committed (throttle)
    if problem is not None:
        async with rt.sessions() as db:
            meters = await activation.meters_of(db, user.id)
        return await _activation_page(
            request, meters, errors={"code": problem.message}, status=problem.status_code
        )
    return Redirect(f"/energie?zaehler={meter.code}&hinweis=aktiviert", status_code=303)


@get("/energie/freischalten", include_in_schema=False, guards=[login_required])
async def activation_form(request: AnyRequest) -> Template:
    """The activation form also for households that already have a meter (a second one, a move)."""
    _user, meters = await _user_and_meters(request)
    return await _activation_page(request, meters)


def _flexible(params: Any) -> tuple[FlexibleLoad | None, dict[str, str], FieldErrors]:
    values = {
        "kwh": params.get("kwh") or "7",
        "kw": params.get("kw") or "11",
        "von": params.get("von") or "18",
        "bis": params.get("bis") or "7",
    }
    errors: FieldErrors = {}
    try:
        kwh = float(values["kwh"].replace(",", "."))
    except ValueError:
        errors["kwh"] = _("Bitte geben Sie die Energie je Tag als Zahl an, z. B. 7.")
    try:
        kw = float(values["kw"].replace(",", "."))
    except ValueError:
        errors["kw"] = _("Bitte geben Sie die Leistung als Zahl an, z. B. 11.")
    hours: dict[str, int] = {}
    for name in ("von", "bis"):
        try:
            hours[name] = int(values[name])
            if not 0 <= hours[name] <= 23:
                raise ValueError
        except ValueError:
            errors[name] = _("Bitte wählen Sie eine volle Stunde zwischen 0 und 23.")
    if errors:
        return None, values, errors
    try:
        load = FlexibleLoad(kwh, kw, time(hours["von"]), time(hours["bis"]))
    except FlexibleLoadError as exc:
        text = str(exc)
        if "kwh_per_day" in text and "short" not in text:
            errors["kwh"] = _("Die Energie je Tag muss größer als 0 sein.")
        elif "power_kw" in text and "short" not in text:
            errors["kw"] = _("Die Leistung muss größer als 0 sein.")
        elif "differ" in text:
            errors["bis"] = _("Anfang und Ende des Zeitfensters müssen sich unterscheiden.")
        else:
            errors["kwh"] = _(
                "In diesem Zeitfenster lässt sich so viel Energie mit dieser Leistung nicht laden."
            )
        return None, values, errors
    return load, values, errors


@get("/energie/tarifcheck", include_in_schema=False, guards=[login_required])
async def tariff_check_page(request: AnyRequest) -> Template | Redirect:
    """The last 12 months under every tariff of the city profile, and the flexible-load saving."""
    rt = runtime_of(request)
    _user, meters = await _user_and_meters(request)
    if not meters:
        return Redirect("/energie", status_code=303)
    params = request.query_params
    meter = _chosen(meters, params.get("zaehler"))
    load, values, errors = _flexible(params)
    book = tariffs_for(rt.settings.city_dir)
    async with rt.sessions() as db:
        check = await services.tariff_check(
            db, meter, book, now=rt.clock.now(), timezone=_zone(rt), flexible=load
        )
    zone = ZoneInfo(_zone(rt))
    return await render(
        request,
        "energy/tariff_check.html",
        status_code=400 if errors else 200,
        title=_("Tarifcheck"),
        meters=meters,
        meter=meter,
        check=check,
        book=book,
        values=values,
        errors=errors,
        hours=list(range(24)),
        first_day=check.start.astimezone(zone).date(),
        last_day=(check.end.astimezone(zone) - timedelta(days=1)).date(),
        euro=euro,
        number=number,
        contact=rt.city.contacts.get("energy"),
    )


def local_time(moment: datetime | None, timezone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%d.%m.%Y %H:%M")


ROUTES: list[ControllerRouterHandler] = [
    overview,
    activate,
    activation_form,
    tariff_check_page,
    create_static_files_router(
        path="/static/energie", directories=[STATIC], include_in_schema=False, name="energy-static"
    ),
]
