"""Journey planner: the page ``/fahrplan`` and the JSON API under ``/api/mobilitaet``.

The page is a plain GET form and works without JavaScript: a stop name that is not exact gets a list
of suggestions to choose from (server side). With JavaScript, ``fahrplan.js`` turns the two stop fields
into ARIA comboboxes fed by ``GET /api/mobilitaet/haltestellen?q=``. Handlers stay thin: the rules are
in ``journeys``; every ``MobilityError`` becomes a German message next to its field (page) or the
project's error shape (API), never a 500.

The API needs no login and sends nothing personal, so it is exempt from CSRF like the other JSON APIs
(``opt={"exclude_from_csrf": True}``); it only reads.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, Router, get
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter
from litestar.response import Template
from litestar.static_files import create_static_files_router

from stadtkern.appointments.api import validation_error_handler
from stadtkern.core.i18n import gettext as _
from stadtkern.mobility import jobs, journeys, realtime
from stadtkern.mobility.errors import MobilityError
from stadtkern.web.errors import json_error
from stadtkern.web.forms import FieldErrors
from stadtkern.web.runtime import Runtime, runtime_of
from stadtkern.web.templating import render

AnyRequest = Request[Any, Any, Any]
STATIC = Path(__file__).resolve().parent / "static" / "journeys"
API_PREFIX = "/api/mobilitaet"


def _zone(rt: Runtime) -> ZoneInfo:
    return ZoneInfo(rt.city.city.timezone)


def _city_dir(rt: Runtime) -> Path | None:
    city_dir = getattr(rt.settings, "city_dir", None)
    return Path(city_dir) if city_dir else None


# --- the page --------------------------------------------------------------------------------------


@get("/fahrplan", include_in_schema=False, name="journeys")
async def planner(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    zone = _zone(rt)
    now = rt.clock.now().astimezone(zone)
    params = request.query_params
    # a choice among the server's suggestions (no JavaScript) wins over the text typed before
    values = {
        "von": (params.get("von_wahl") or params.get("von") or "").strip(),
        "nach": (params.get("nach_wahl") or params.get("nach") or "").strip(),
        "zeit": (params.get("zeit") or "").strip(),
        "modus": "an" if params.get("modus") == "an" else "ab",
    }
    errors: FieldErrors = {}
    choices: dict[str, list[journeys.Place]] = {}
    result: journeys.Plan | None = None
    asked = bool(values["von"] or values["nach"])
    status = 200
    if asked:
        try:
            at = journeys.parse_when(values["zeit"], now, zone)
        except MobilityError as exc:
            errors[exc.field or "zeit"] = exc.message
            at = now
        async with rt.sessions() as session:
            try:
                tt = await journeys.timetable_for(session, at.date(), zone)
                for name, label in (("von", _("Start")), ("nach", _("Ziel"))):
                    text = values[name]
                    if not text:
                        errors[name] = _("Bitte geben Sie %(what)s an.", what=label)
                        continue
                    exact = journeys.exact_place(tt, text)
                    if exact is None:
                        found = journeys.search_places(tt, text)
                        if found:
                            choices[name] = found
                            errors[name] = _(
                                "„%(text)s“ ist nicht eindeutig. Bitte wählen Sie eine Haltestelle.",
                                text=text,
                            )
                        else:
                            errors[name] = _(
                                "Keine Haltestelle „%(text)s“ gefunden. Bitte prüfen Sie die Schreibweise.",
                                text=text,
                            )
                    else:
                        values[name] = exact.name
                if not errors:
                    result = await journeys.plan(
                        session,
                        values["von"],
                        values["nach"],
                        at,
                        arrive_by=values["modus"] == "an",
                        zone=zone,
                        city_dir=_city_dir(rt),
                    )
            except MobilityError as exc:
                errors[exc.field or "von"] = exc.message
        if errors:
            status = 400
    if not values["zeit"]:
        values["zeit"] = now.strftime("%Y-%m-%dT%H:%M")
    async with rt.sessions() as session:
        realtime_note = journeys.realtime_note(
            await realtime.status(session), now, zone, jobs.config(rt.settings).max_age
        )
    later = earlier = None
    if result is not None and result.journeys:
        first = min(j.departure for j in result.journeys)
        last = max(j.arrival for j in result.journeys)
        later = _link(values, "ab", first.replace(second=0) + timedelta(minutes=1))
        earlier = _link(values, "an", last.replace(second=0) - timedelta(minutes=1))
    return await render(
        request,
        "mobility/journeys.html",
        status_code=status,
        title=_("Fahrplanauskunft"),
        values=values,
        errors=errors,
        choices=choices,
        result=result,
        later=later,
        earlier=earlier,
        ticket_link=_ticket_link,
        zone=zone,
        realtime_note=realtime_note,
    )


def _link(values: dict[str, str], mode: str, at: datetime) -> str:
    query = {"von": values["von"], "nach": values["nach"], "zeit": at.strftime("%Y-%m-%dT%H:%M")}
    query["modus"] = mode
    return "/fahrplan?" + urlencode(query)


def _ticket_link(journey: journeys.JourneyView) -> str:
    pairs: list[tuple[str, str]] = []
    if journey.price is not None:
        pairs += [("produkt", journey.price.product), ("stufe", journey.price.level)]
    for leg in journey.legs:
        if leg.kind == "ride":
            pairs += [("halt", leg.origin.name), ("halt", leg.destination.name)]
    return "/tickets?" + urlencode(pairs)


# --- the JSON API ----------------------------------------------------------------------------------


class StopOut(msgspec.Struct):
    name: str
    platforms: list[str]
    stop_ids: list[str]


class StopPointOut(msgspec.Struct):
    stop_id: str
    name: str
    platform: str


class LegOut(msgspec.Struct):
    kind: str  # "ride" or "walk"
    origin: StopPointOut
    destination: StopPointOut
    departure: datetime  # local time of the city, with its offset; realtime included
    arrival: datetime
    minutes: int
    line: str | None = None
    mode: str | None = None
    headsign: str | None = None
    trip_id: str | None = None
    departure_delay_minutes: int = 0
    arrival_delay_minutes: int = 0
    realtime: bool = False
    intermediate_stops: int = 0
    scheduled_departure: datetime | None = None
    scheduled_arrival: datetime | None = None
    pickup_type: int = 0  # GTFS at the boarding stop: 2 phone the agency, 3 tell the driver
    drop_off_type: int = 0  # GTFS at the alighting stop: the same
    notes: list[str] = []  # those rules in words (German)


class PriceOut(msgspec.Struct):
    level: str
    level_name: str
    cents: int
    text: str
    product: str


class JourneyOut(msgspec.Struct):
    departure: datetime
    arrival: datetime
    minutes: int
    rides: int
    transfers: int
    legs: list[LegOut]
    price: PriceOut | None


class RealtimeOut(msgspec.Struct):
    received_at: datetime | None  # when realtime data was last received; null: never
    feed_timestamp: datetime | None  # the time its producer gave it (GTFS-Realtime header)


class PlanOut(msgspec.Struct):
    origin: str
    destination: str
    time: datetime
    arrive_by: bool
    journeys: list[JourneyOut]
    realtime: RealtimeOut


class ErrorBody(msgspec.Struct):
    code: str
    message: str
    details: dict[str, Any] | None


class ErrorOut(msgspec.Struct):
    error: ErrorBody


ERRORS = {
    400: ResponseSpec(ErrorOut, description="Ungültige oder fehlende Angabe (details.field nennt sie)"),
    404: ResponseSpec(ErrorOut, description="Haltestelle nicht gefunden oder kein Fahrplan geladen"),
}


def mobility_error_handler(_request: AnyRequest, exc: MobilityError) -> Response[Any]:
    return json_error(exc.status_code, exc.code, exc.message, {"field": exc.field})


def _point(stop: journeys.StopRef) -> StopPointOut:
    return StopPointOut(stop.stop_id, stop.name, stop.platform)


def _journey_out(journey: journeys.JourneyView) -> JourneyOut:
    legs = [
        LegOut(
            kind=leg.kind,
            origin=_point(leg.origin),
            destination=_point(leg.destination),
            departure=leg.departure,
            arrival=leg.arrival,
            minutes=leg.minutes,
            line=leg.line or None,
            mode=leg.mode or None,
            headsign=leg.headsign or None,
            trip_id=leg.trip_id or None,
            departure_delay_minutes=leg.departure_delay_min,
            arrival_delay_minutes=leg.arrival_delay_min,
            realtime=leg.realtime,
            intermediate_stops=leg.intermediate_stops,
            scheduled_departure=leg.scheduled_departure,
            scheduled_arrival=leg.scheduled_arrival,
            pickup_type=leg.pickup_type,
            drop_off_type=leg.drop_off_type,
            notes=list(leg.notes),
        )
        for leg in journey.legs
    ]
    price = journey.price
    return JourneyOut(
        departure=journey.departure,
        arrival=journey.arrival,
        minutes=journey.minutes,
        rides=journey.rides,
        transfers=journey.transfers,
        legs=legs,
        price=PriceOut(price.level, price.level_name, price.cents, price.text, price.product)
        if price
        else None,
    )


@get("/haltestellen", responses=ERRORS, summary="Haltestellen suchen (Namensanfang oder -teil)")
async def api_stops(
    request: AnyRequest,
    q: Annotated[
        str, QueryParameter(description="Name oder Teil davon; Umlaute auch als ae, oe, ue oder ohne Punkte")
    ],
) -> list[StopOut]:
    """Up to ten stops, those whose name starts with ``q`` first."""
    rt = runtime_of(request)
    zone = _zone(rt)
    async with rt.sessions() as session:
        tt = await journeys.timetable_for(session, rt.clock.now().astimezone(zone).date(), zone)
    return [
        StopOut(p.name, list(p.platforms), [tt.stops[i].stop_id for i in p.stops])
        for p in journeys.suggestions(tt, q)
    ]


@get("/verbindungen", responses=ERRORS, summary="Verbindungen zwischen zwei Haltestellen")
async def api_journeys(
    request: AnyRequest,
    von: Annotated[str, QueryParameter(description="Start: Name der Haltestelle")],
    nach: Annotated[str, QueryParameter(description="Ziel: Name der Haltestelle")],
    zeit: Annotated[
        str | None,
        QueryParameter(
            description="Abfahrt (oder Ankunft) als JJJJ-MM-TTTHH:MM Ortszeit oder mit Offset; sonst jetzt"
        ),
    ] = None,
    ankunft: Annotated[
        bool, QueryParameter(description="true: spätestens zu ``zeit`` ankommen statt ab ``zeit`` fahren")
    ] = False,
) -> PlanOut:
    """One journey per number of rides that is faster (or, arriving by, leaves later) than every journey
    with fewer rides; each with its legs, platforms, realtime delays and its VRR price."""
    rt = runtime_of(request)
    zone = _zone(rt)
    at = journeys.parse_when(zeit, rt.clock.now(), zone)
    async with rt.sessions() as session:
        result = await journeys.plan(
            session, von, nach, at, arrive_by=ankunft, zone=zone, city_dir=_city_dir(rt)
        )
        received = await realtime.status(session)
    return PlanOut(
        origin=result.origin.name,
        destination=result.destination.name,
        time=result.at,
        arrive_by=result.arrive_by,
        journeys=[_journey_out(j) for j in result.journeys],
        realtime=RealtimeOut(
            received.received_at.astimezone(zone) if received else None,
            received.feed_timestamp.astimezone(zone) if received and received.feed_timestamp else None,
        ),
    )


ROUTES: list[Any] = [
    planner,
    Router(
        API_PREFIX,
        route_handlers=[api_stops, api_journeys],
        tags=["Mobilität"],
        opt={"exclude_from_csrf": True},
        exception_handlers={
            MobilityError: mobility_error_handler,
            ValidationException: validation_error_handler,
        },
    ),
    create_static_files_router(
        path="/static/fahrplan", directories=[str(STATIC)], include_in_schema=False, name="journeys-static"
    ),
]
