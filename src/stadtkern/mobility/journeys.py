"""The journey planner as a service: timetables per service day (cached), stop search, plan.

No web objects here: the pages and the JSON API (``journey_views``) pass a session, the time zone of
the city and the clock's ``now``. Times go in and out as aware datetimes; inside, the timetable counts
seconds from the start of the service day (GTFS "noon minus 12 h", in the city's time zone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.i18n import gettext as _
from stadtkern.mobility import models as m
from stadtkern.mobility import raptor
from stadtkern.mobility.errors import MobilityError, NotFound
from stadtkern.mobility.realtime import RealtimeStatus
from stadtkern.mobility.timetable import Timetable, load_timetable

log = logging.getLogger("stadtkern.mobility.timetable")

MAX_SUGGESTIONS = 10
CACHE_SIZE = 4

ROUTE_TYPES = {
    0: "Straßenbahn",
    1: "U-Bahn",
    2: "Zug",
    3: "Bus",
    4: "Fähre",
    5: "Kabelbahn",
    6: "Seilbahn",
    7: "Standseilbahn",
    11: "Oberleitungsbus",
    12: "Einschienenbahn",
}


# --- time ------------------------------------------------------------------------------------------


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Start of a service day: noon minus 12 hours (GTFS), which is midnight but on the days the clocks
    change."""
    noon = datetime.combine(day, time(12), tzinfo=zone).astimezone(UTC)
    return noon - timedelta(hours=12)  # in UTC: an absolute 12 hours, not wall-clock time


def to_seconds(moment: datetime, day: date, zone: ZoneInfo) -> int:
    return int((moment - day_start(day, zone)).total_seconds())


def to_datetime(seconds: int, day: date, zone: ZoneInfo) -> datetime:
    return (day_start(day, zone) + timedelta(seconds=seconds)).astimezone(zone)


# --- the timetable cache ---------------------------------------------------------------------------
#
# One timetable per (engine, service day), rebuilt when the feed or the realtime updates change (the
# stamp). In the running app a background builder per engine (``prebuild``) builds them before anyone
# asks: at start-up, for the next day before midnight, and after an import or a realtime update. A
# request then never builds: it waits for a build under way when there is no timetable of the active
# feed yet, and otherwise answers from the previous timetable while the new one is built. Without a
# builder (command line, tests of the service) the first request builds, one build at a time per day.


@dataclass
class _Cached:
    stamp: tuple[object, ...]
    timetable: Timetable


_cache: dict[tuple[int, date], _Cached] = {}
_locks: dict[tuple[int, date], asyncio.Lock] = {}


async def _stamp(session: AsyncSession) -> tuple[object, ...]:
    """What the timetable depends on: the active feed (first two items) and the realtime updates."""
    from stadtkern.mobility.realtime import FEED_ROW

    feed = (
        await session.execute(
            select(m.Feed.id, m.Feed.imported_at)
            .where(m.Feed.active)
            .order_by(m.Feed.imported_at.desc())
            .limit(1)
        )
    ).first()
    rt = (
        await session.execute(
            select(func.count(m.RealtimeTripUpdate.id), func.max(m.RealtimeTripUpdate.received_at)).where(
                m.RealtimeTripUpdate.trip_id != FEED_ROW
            )
        )
    ).one()
    return (feed.id if feed else None, str(feed.imported_at) if feed else "", rt[0], str(rt[1]))


def _store(key: tuple[int, date], stamp: tuple[object, ...], tt: Timetable) -> None:
    _cache.pop(key, None)
    while len(_cache) >= CACHE_SIZE:
        _cache.pop(next(iter(_cache)))
    _cache[key] = _Cached(stamp, tt)


class Builder:
    """Builds the timetables of one engine in the background, one build per day at a time."""

    def __init__(self, engine_key: int, sessions: async_sessionmaker[AsyncSession], zone: ZoneInfo) -> None:
        self.engine_key = engine_key
        self.sessions = sessions
        self.zone = zone
        self.loop = asyncio.get_running_loop()
        self.builds = 0  # finished builds (tests, logs)
        self.wake = asyncio.Event()  # set to check for changes now (after an import or realtime update)
        self._tasks: dict[date, asyncio.Task[Timetable]] = {}

    def build(self, day: date) -> asyncio.Task[Timetable]:
        """The build of ``day`` under way, or a new one."""
        task = self._tasks.get(day)
        if task is None or task.done():
            task = self.loop.create_task(self._build(day), name=f"stadtkern-timetable-{day}")
            task.add_done_callback(_log_failure)
            self._tasks[day] = task
        return task

    def building(self, day: date) -> bool:
        task = self._tasks.get(day)
        return task is not None and not task.done()

    async def _build(self, day: date) -> Timetable:
        async with self.sessions() as session:
            stamp = await _stamp(session)
            tt = await load_timetable(session, day, timezone=self.zone.key)
        _store((self.engine_key, day), stamp, tt)
        self.builds += 1
        return tt

    async def stale(self, day: date) -> bool:
        """Whether the cached timetable of ``day`` is missing or older than the data."""
        async with self.sessions() as session:
            stamp = await _stamp(session)
        found = _cache.get((self.engine_key, day))
        return found is None or found.stamp != stamp

    async def close(self) -> None:
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()


_builders: dict[int, Builder] = {}


def _log_failure(task: asyncio.Task[Timetable]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("building the timetable failed", exc_info=task.exception())


def register_builder(engine: object, sessions: async_sessionmaker[AsyncSession], zone: ZoneInfo) -> Builder:
    builder = Builder(id(engine), sessions, zone)
    _builders[id(engine)] = builder
    return builder


def unregister_builder(builder: Builder) -> None:
    if _builders.get(builder.engine_key) is builder:
        del _builders[builder.engine_key]


def wake_builders() -> None:
    """Ask this process's builders to look for changes now (after an import or a realtime update)."""
    for builder in _builders.values():
        with contextlib.suppress(RuntimeError):  # its loop has just closed: nothing left to wake
            builder.loop.call_soon_threadsafe(builder.wake.set)


def forget_before(engine_key: int, day: date) -> None:
    """Drop the cached timetables of days before ``day`` (after midnight: yesterday's is not needed)."""
    for key in [k for k in _cache if k[0] == engine_key and k[1] < day]:
        del _cache[key]


async def timetable_for(session: AsyncSession, day: date, zone: ZoneInfo) -> Timetable:
    """The timetable of ``day`` with realtime, built once and again when the feed or realtime changes."""
    stamp = await _stamp(session)
    key = (id(session.bind), day)
    found = _cache.get(key)
    if found is not None and found.stamp == stamp:
        return found.timetable
    builder = _builders.get(key[0])
    if builder is not None and builder.loop is asyncio.get_running_loop():
        if found is not None and found.stamp[:2] == stamp[:2]:
            builder.build(day)  # only realtime changed: the previous timetable answers meanwhile
            return found.timetable
        tt = await asyncio.shield(builder.build(day))
        found = _cache.get(key)
        if found is None or found.stamp[:2] != stamp[:2]:  # that build began before the import
            tt = await asyncio.shield(builder.build(day))
        return tt
    lock = _locks.setdefault(key, asyncio.Lock())
    async with lock:
        found = _cache.get(key)
        if found is not None and found.stamp == stamp:
            return found.timetable
        tt = await load_timetable(session, day, timezone=zone.key)
        _store(key, stamp, tt)
        return tt


def clear_cache() -> None:
    _cache.clear()


def realtime_note(
    status: RealtimeStatus | None, now: datetime, zone: ZoneInfo, stale_after: timedelta
) -> str:
    """One line for the operator and the traveller: how fresh the realtime data is."""
    if status is None:
        return _("Keine Echtzeitdaten: Zeiten laut Fahrplan.")
    local = status.received_at.astimezone(zone)
    when = (
        local.strftime("%H:%M")
        if local.date() == now.astimezone(zone).date()
        else local.strftime("%d.%m.%Y %H:%M")
    )
    if now - status.received_at > stale_after:
        return _(
            "Echtzeitdaten: Stand %(when)s (veraltet, Zeiten laut Fahrplan und letzter Meldung).", when=when
        )
    return _("Echtzeitdaten: Stand %(when)s", when=when)


# --- stop search -----------------------------------------------------------------------------------

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def fold(text: str) -> tuple[str, str]:
    """Two foldings for matching: umlauts spelled out (``Koenig``) and diacritics dropped (``Konig``)."""
    lower = " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())
    spelled = lower.translate(_UMLAUTS)
    plain = "".join(c for c in unicodedata.normalize("NFKD", lower) if not unicodedata.combining(c))
    return spelled, plain.replace("ß", "ss")


@dataclass(frozen=True)
class Place:
    """A stop as people name it: a station (``parent_station``) with all its platforms, or, for stops
    without a station, all platforms with the same name together."""

    key: str  # the name, which is what people type; unique within the feed's stop names
    name: str
    stops: tuple[int, ...]  # timetable indexes
    platforms: tuple[str, ...]
    station_id: str = ""  # the station's stop_id (location_type 1), if the place is a station


def places(tt: Timetable) -> list[Place]:
    found = tt.cache.get("places")
    if isinstance(found, list):
        return found
    groups: dict[tuple[str, str], list[int]] = {}
    for i, stop in enumerate(tt.stops):
        key = ("station", stop.parent_id) if stop.parent_id else ("name", stop.name.strip())
        groups.setdefault(key, []).append(i)
    names: dict[tuple[str, str], str] = {}
    for key, idx in groups.items():
        if key[0] == "station":
            names[key] = (tt.station_names.get(key[1]) or tt.stops[idx[0]].name).strip()
        else:
            names[key] = key[1]
    # stops without a station that are named like exactly one station belong to it
    stations_named: dict[str, list[tuple[str, str]]] = {}
    for key, name in names.items():
        if key[0] == "station":
            stations_named.setdefault(name, []).append(key)
    for key in [k for k in groups if k[0] == "name"]:
        owners = stations_named.get(key[1], [])
        if len(owners) == 1:
            groups[owners[0]].extend(groups.pop(key))
            del names[key]
    # a name used by two places (two stations of one name): the station's id tells them apart
    count: dict[str, int] = {}
    for name in names.values():
        count[name] = count.get(name, 0) + 1
    out: list[Place] = []
    for key, idx in groups.items():
        name = names[key]
        if not name:
            continue
        label = f"{name} ({key[1]})" if count[name] > 1 and key[0] == "station" else name
        platforms = tuple(sorted({tt.stops[i].platform_code for i in idx if tt.stops[i].platform_code}))
        out.append(Place(label, label, tuple(sorted(idx)), platforms, key[1] if key[0] == "station" else ""))
    out.sort(key=lambda p: fold(p.name)[0])
    tt.cache["places"] = out
    tt.cache["place_folds"] = [(fold(p.name), p) for p in out]
    by_fold = {fold(tt.stops[i].name): p for p in out if p.station_id for i in p.stops}  # platforms' names
    by_fold.update({folded: p for folded, p in reversed(tt.cache["place_folds"])})
    tt.cache["place_by_fold"] = by_fold
    by_stop = {tt.stops[i].stop_id: p for p in out for i in p.stops}
    by_stop.update({p.station_id: p for p in out if p.station_id})
    tt.cache["place_by_stop_id"] = by_stop
    return out


def search_places(tt: Timetable, query: str, limit: int = MAX_SUGGESTIONS) -> list[Place]:
    """Places whose name starts with the query, then those with a word starting with it, then those
    containing it; umlauts match either spelling (``Konig``, ``Koenig``, ``König``)."""
    places(tt)
    wanted = fold(query)
    if not wanted[0]:
        return []
    ranked: list[tuple[int, str, Place]] = []
    for (spelled, plain), place in tt.cache["place_folds"]:
        rank = None
        for q in set(wanted):
            for name in (spelled, plain):
                if name.startswith(q):
                    r = 0
                elif f" {q}" in f" {name}":
                    r = 1
                elif q in name:
                    r = 2
                else:
                    continue
                rank = r if rank is None else min(rank, r)
        if rank is not None:
            ranked.append((rank, spelled, place))
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [place for _r, _s, place in ranked[:limit]]


def exact_place(tt: Timetable, text: str) -> Place | None:
    """The place with exactly this name (case, umlaut spelling and punctuation aside), or a stop id."""
    places(tt)
    by_name: dict[tuple[str, str], Place] = tt.cache["place_by_fold"]
    found = by_name.get(fold(text))
    if found is None:
        by_stop: dict[str, Place] = tt.cache["place_by_stop_id"]
        found = by_stop.get(text.strip())
    return found


def find_place(tt: Timetable, text: str, field: str) -> Place:
    """The place a person meant: an exact name (folded) or stop id, else the first suggestion."""
    if not text.strip():
        raise MobilityError(_("Bitte geben Sie eine Haltestelle an."), field)
    exact = exact_place(tt, text)
    if exact is not None:
        return exact
    found = search_places(tt, text, 1)
    if not found:
        raise NotFound(
            _("Keine Haltestelle „%(name)s“ gefunden. Bitte prüfen Sie die Schreibweise.", name=text),
            field,
        )
    return found[0]


# --- planning --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StopRef:
    stop_id: str
    name: str
    platform: str


@dataclass(frozen=True)
class LegView:
    kind: str  # "ride" | "walk"
    origin: StopRef
    destination: StopRef
    departure: datetime
    arrival: datetime
    line: str = ""  # "901"
    mode: str = ""  # "Straßenbahn"
    route_id: str = ""
    headsign: str = ""
    trip_id: str = ""
    departure_delay_min: int = 0
    arrival_delay_min: int = 0
    realtime: bool = False
    intermediate_stops: int = 0
    scheduled_departure: datetime | None = None
    scheduled_arrival: datetime | None = None
    pickup_type: int = 0  # GTFS: 2 phone the agency, 3 tell the driver, to board here (else 0)
    drop_off_type: int = 0  # the same, to alight
    notes: tuple[str, ...] = ()  # what the traveller must do for that, in words

    @property
    def minutes(self) -> int:
        return max(0, round((self.arrival - self.departure).total_seconds() / 60))


def leg_notes(pickup_type: int, drop_off_type: int) -> tuple[str, ...]:
    """Notes for boarding or alighting that must be arranged (GTFS pickup/drop_off_type 2 and 3)."""
    notes = []
    if pickup_type == 2:
        notes.append(_("Einstieg nur nach telefonischer Anmeldung beim Verkehrsunternehmen."))
    elif pickup_type == 3:
        notes.append(_("Einstieg nur nach Absprache mit dem Fahrpersonal."))
    if drop_off_type == 2:
        notes.append(_("Ausstieg nur nach telefonischer Anmeldung beim Verkehrsunternehmen."))
    elif drop_off_type == 3:
        notes.append(_("Ausstieg bitte beim Fahrpersonal anmelden."))
    return tuple(notes)


@dataclass(frozen=True)
class Price:
    level: str
    level_name: str
    text: str  # "Preisstufe A: 3,80 €"
    cents: int
    product: str


@dataclass(frozen=True)
class JourneyView:
    legs: tuple[LegView, ...]
    rides: int
    departure: datetime
    arrival: datetime
    price: Price | None = None

    @property
    def transfers(self) -> int:
        return max(0, self.rides - 1)

    @property
    def minutes(self) -> int:
        return max(0, round((self.arrival - self.departure).total_seconds() / 60))

    @property
    def delayed(self) -> bool:
        return any(leg.departure_delay_min or leg.arrival_delay_min for leg in self.legs)


@dataclass(frozen=True)
class Plan:
    origin: Place
    destination: Place
    at: datetime
    arrive_by: bool
    journeys: tuple[JourneyView, ...]


async def plan(
    session: AsyncSession,
    origin: str,
    destination: str,
    at: datetime,
    *,
    arrive_by: bool = False,
    zone: ZoneInfo,
    city_dir: Path | None = None,
    max_rides: int = raptor.MAX_RIDES,
) -> Plan:
    """Journeys from ``origin`` to ``destination`` (stop names) leaving at or arriving by ``at``.

    One journey per number of rides that is faster (depart-at) or leaves later (arrive-by) than all with
    fewer rides. With ``city_dir``, each journey carries its VRR price from the city's fares.
    """
    local = at.astimezone(zone)
    day = local.date()
    tt = await timetable_for(session, day, zone)
    if tt.n_stops == 0:
        raise NotFound(_("Es ist noch kein Fahrplan geladen."), None)
    start = find_place(tt, origin, "von")
    end = find_place(tt, destination, "nach")
    if start.key == end.key:
        raise MobilityError(_("Start und Ziel sind dieselbe Haltestelle."), "nach")
    seconds = to_seconds(local, day, zone)
    search = raptor.arrive_by if arrive_by else raptor.depart_at
    found = await asyncio.to_thread(
        search, tt, list(start.stops), list(end.stops), seconds, max_rides=max_rides
    )
    views = tuple(_journey_view(tt, j, day, zone, city_dir) for j in found)
    return Plan(start, end, local, arrive_by, views)


def _ref(tt: Timetable, stop: int) -> StopRef:
    s = tt.stops[stop]
    return StopRef(s.stop_id, s.name, s.platform_code)


def _journey_view(
    tt: Timetable, journey: raptor.Journey, day: date, zone: ZoneInfo, city_dir: Path | None
) -> JourneyView:
    legs = []
    for leg in journey.legs:
        if leg.kind == "walk":
            legs.append(
                LegView(
                    "walk",
                    _ref(tt, leg.from_stop),
                    _ref(tt, leg.to_stop),
                    to_datetime(leg.departure, day, zone),
                    to_datetime(leg.arrival, day, zone),
                )
            )
            continue
        route = tt.routes.get(leg.route_id)
        legs.append(
            LegView(
                "ride",
                _ref(tt, leg.from_stop),
                _ref(tt, leg.to_stop),
                to_datetime(leg.departure, day, zone),
                to_datetime(leg.arrival, day, zone),
                line=route.short_name if route else leg.route_id,
                mode=ROUTE_TYPES.get(route.route_type, "") if route else "",
                route_id=leg.route_id,
                headsign=leg.headsign,
                trip_id=leg.trip_id,
                departure_delay_min=round(leg.departure_delay / 60),
                arrival_delay_min=round(leg.arrival_delay / 60),
                realtime=leg.realtime,
                intermediate_stops=max(0, len(leg.stops) - 2),
                scheduled_departure=to_datetime(leg.departure - leg.departure_delay, day, zone),
                scheduled_arrival=to_datetime(leg.arrival - leg.arrival_delay, day, zone),
                pickup_type=leg.pickup_type,
                drop_off_type=leg.drop_off_type,
                notes=leg_notes(leg.pickup_type, leg.drop_off_type),
            )
        )
    view = JourneyView(tuple(legs), journey.rides, legs[0].departure, legs[-1].arrival)
    if city_dir is not None and journey.rides:
        view = JourneyView(view.legs, view.rides, view.departure, view.arrival, price_of(view, city_dir))
    return view


def price_of(journey: JourneyView, city_dir: Path) -> Price | None:
    """The VRR price of a journey (fares of the city profile); None when the fares have no answer."""
    from stadtkern.config import ConfigError
    from stadtkern.mobility import fares

    stops: list[fares.StopLike] = []
    for leg in journey.legs:
        if leg.kind == "ride":
            stops.append((leg.origin.stop_id, leg.origin.name))
            stops.append((leg.destination.stop_id, leg.destination.name))
    try:
        price = fares.price_for_journey(stops, city_dir)
    except (MobilityError, ConfigError):
        return None
    cheapest = price.cheapest
    return Price(price.level, price.level_name, price.text, cheapest.cents, cheapest.product)


def parse_when(text: str | None, now: datetime, zone: ZoneInfo, field: str = "zeit") -> datetime:
    """``2026-11-17T08:30``, ``2026-11-17 08:30`` or ``08:30`` (today) in the city's time; empty: now."""
    if text is None or not text.strip():
        return now.astimezone(zone)
    value = text.strip()
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}", value):
            hours, minutes = (int(x) for x in value.split(":"))
            moment = datetime.combine(now.astimezone(zone).date(), time(hours, minutes))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise MobilityError(
            _("„%(value)s“ ist keine Zeit. Bitte als JJJJ-MM-TTTHH:MM oder HH:MM angeben.", value=value),
            field,
        ) from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)


def suggestions(tt: Timetable, query: str) -> Sequence[Place]:
    return search_places(tt, query) if len(query.strip()) >= 1 else []
