"""The timetable of one service day in memory, in numpy arrays, as the journey planner reads it.

Times are whole seconds from the start of the service day ("noon minus 12 h" in GTFS, which is midnight
except on the two days the clocks change); they may go past 24 h and, for trips of the day before that are
still running, below 0.

How it is built, in pure functions the database loader (:func:`load_timetable`) and the tests share:

* :func:`active_services`: the services running on a day from ``calendar`` and ``calendar_dates``;
* :func:`expand_frequencies`: a trip with ``frequencies`` becomes one trip per headway, its stop times
  shifted from the template;
* :func:`apply_realtime`: GTFS-Realtime TripUpdates: a cancelled trip is dropped, a delay given at a stop
  holds from that stop on until the next one given (the GTFS-Realtime propagation rule), a skipped stop
  is left out of the trip;
* :func:`build_timetable`: trips are grouped into *patterns* (same line, same stops, same pick-up and
  drop-off rules) whose trips never overtake each other (a trip that would is put into a pattern of its
  own), which is what RAPTOR needs to take "the earliest trip" at a stop; footpaths are made from the
  stops within ``max_walk_m`` of each other and ``transfers.txt``, and then **transitively closed**
  (shortest walking time between every pair that is connected at all), so one walk between two rides is
  as good as any chain of walks: the planner's results are exact.

Layout of the arrays (``S`` slots = the stops of all patterns one after another, ``T`` stop times):
per pattern ``p`` its slots are ``slot_start[p]:slot_start[p+1]``; per slot ``s`` the times of the
pattern's trips at that stop are ``arr[time_start[s]:time_start[s]+n_trips_of_pattern]`` (and ``dep``),
sorted, trip ``j`` of the pattern being the global trip ``trip_start[p] + j``.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

DAY = 86_400
WALK_SPEED_M_S = 4.5 / 3.6  # 4.5 km/h
MAX_WALK_M = 400.0
MIN_WALK_S = 60  # changing between two different stops takes at least a minute
INF = np.int64(2**40)  # "not reached"


# --- input records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stop:
    stop_id: str
    name: str
    lat: float
    lon: float
    platform_code: str = ""
    parent_id: str = ""


@dataclass(frozen=True)
class Route:
    route_id: str
    short_name: str
    long_name: str = ""
    route_type: int = 3
    agency_id: str = ""


@dataclass
class Trip:
    """One run of a vehicle on the service day (after frequencies and realtime), times in seconds."""

    trip_id: str
    route_id: str
    headsign: str
    stops: list[int]  # indexes into the stop list
    arr: list[int]
    dep: list[int]
    pickup: list[bool] = field(default_factory=list)  # may board here (pickup_type != 1)
    dropoff: list[bool] = field(default_factory=list)  # may alight here (drop_off_type != 1)
    arr_delay: list[int] = field(default_factory=list)  # realtime delay in seconds, 0 = on time
    dep_delay: list[int] = field(default_factory=list)
    sequences: list[int] = field(default_factory=list)  # GTFS stop_sequence of each stop
    service_date: date | None = None  # the day the trip belongs to (trips of yesterday run on past 24 h)
    realtime: bool = False  # a TripUpdate applied to it

    def __post_init__(self) -> None:
        n = len(self.stops)
        if not self.pickup:
            self.pickup = [True] * n
        if not self.dropoff:
            self.dropoff = [True] * n
        if not self.arr_delay:
            self.arr_delay = [0] * n
        if not self.dep_delay:
            self.dep_delay = [0] * n
        if not self.sequences:
            self.sequences = list(range(n))


@dataclass(frozen=True)
class Transfer:
    """A row of transfers.txt between two stops (indexes), optionally narrowed to routes and trips.

    ``from_trip``/``to_trip`` are GTFS trip ids (a run of a frequency trip, ``T@08:10:00``, is trip
    ``T``), ``from_route``/``to_route`` route ids. ``station``: the row named a station and applies to its
    platforms, so a row naming the platform itself wins over it at the same GTFS specificity.
    """

    from_stop: int
    to_stop: int
    transfer_type: int
    min_transfer_time: int | None = None
    from_route: str | None = None
    to_route: str | None = None
    from_trip: str | None = None
    to_trip: str | None = None
    station: bool = False

    @property
    def scoped(self) -> bool:
        """Narrowed to a route or trip (else a rule between stops only)."""
        return (self.from_route, self.to_route, self.from_trip, self.to_trip) != (None, None, None, None)

    @property
    def specificity(self) -> int:
        """The GTFS ranking, 6 (both trips) … 1 (stops only); a trip beats a route on the same side."""
        ft, tt = self.from_trip is not None, self.to_trip is not None
        fr = self.from_route is not None and not ft
        tr = self.to_route is not None and not tt
        if ft and tt:
            return 6
        if (ft and tr) or (fr and tt):
            return 5
        if ft or tt:
            return 4
        if fr and tr:
            return 3
        if fr or tr:
            return 2
        return 1

    def reversed(self) -> Transfer:
        """The same rule in the reversed timetable (arrive-by): from and to swapped."""
        return Transfer(
            self.to_stop,
            self.from_stop,
            self.transfer_type,
            self.min_transfer_time,
            self.to_route,
            self.from_route,
            self.to_trip,
            self.from_trip,
            self.station,
        )


@dataclass(frozen=True)
class CalendarRow:
    service_id: str
    weekdays: tuple[bool, bool, bool, bool, bool, bool, bool]  # monday … sunday
    start: date
    end: date


@dataclass(frozen=True)
class CalendarDateRow:
    service_id: str
    day: date
    exception_type: int  # 1 added, 2 removed


@dataclass(frozen=True)
class FrequencyRow:
    trip_id: str
    start: int
    end: int
    headway: int


@dataclass(frozen=True)
class StopUpdate:
    """A StopTimeUpdate: delays in seconds, or predicted times (``arrival_time``, ``departure_time``) in
    seconds on the timetable's clock (from the start of its service day); a time wins over a delay."""

    stop_sequence: int | None
    stop_id: str | None
    arrival_delay: int | None = None
    departure_delay: int | None = None
    skipped: bool = False
    arrival_time: int | None = None
    departure_time: int | None = None


@dataclass(frozen=True)
class TripUpdate:
    """A TripUpdate. ``start_time`` (seconds from the start of the trip's own service day) names one run
    of a trip made from frequencies; without it the update applies to every run of the trip."""

    trip_id: str
    start_date: date | None = None
    cancelled: bool = False
    stop_updates: tuple[StopUpdate, ...] = ()
    start_time: int | None = None


# --- calendar, frequencies, realtime --------------------------------------------------------------


def active_services(
    calendar: Iterable[CalendarRow], calendar_dates: Iterable[CalendarDateRow], day: date
) -> set[str]:
    """Service ids that run on ``day``: by weekday within the calendar's range, then the exceptions."""
    active = {
        row.service_id for row in calendar if row.start <= day <= row.end and row.weekdays[day.weekday()]
    }
    for row in calendar_dates:
        if row.day != day:
            continue
        if row.exception_type == 1:
            active.add(row.service_id)
        elif row.exception_type == 2:
            active.discard(row.service_id)
    return active


def expand_frequencies(
    trips: Sequence[Trip], frequencies: Iterable[FrequencyRow], *, offset: int = 0
) -> list[Trip]:
    """A trip with frequency rows runs once per headway from ``start`` (inclusive) to ``end`` (exclusive).

    Its own stop times give only the travel times, relative to its first departure (GTFS reference).
    Each run is named ``trip@HH:MM:SS`` after its start on its own service day (the ``start_time`` a
    TripUpdate names it by). ``offset``: the seconds the trips' times are shifted by from their own service
    day to the timetable's (-24 h for the day before), which the frequency rows are not.
    """
    by_trip: dict[str, list[FrequencyRow]] = {}
    for row in frequencies:
        by_trip.setdefault(row.trip_id, []).append(row)
    out: list[Trip] = []
    for trip in trips:
        rows = by_trip.get(trip.trip_id)
        if not rows:
            out.append(trip)
            continue
        first = trip.dep[0]
        for row in sorted(rows, key=lambda r: r.start):
            if row.headway <= 0:
                continue
            start = row.start
            while start < row.end:
                shift = start + offset - first
                out.append(
                    replace(
                        trip,
                        trip_id=f"{trip.trip_id}@{_clock(start)}",
                        arr=[t + shift for t in trip.arr],
                        dep=[t + shift for t in trip.dep],
                        pickup=list(trip.pickup),
                        dropoff=list(trip.dropoff),
                        arr_delay=list(trip.arr_delay),
                        dep_delay=list(trip.dep_delay),
                        sequences=list(trip.sequences),
                    )
                )
                start += row.headway
    return out


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def apply_realtime(
    trips: Sequence[Trip], updates: Iterable[TripUpdate], stop_ids: Sequence[str]
) -> list[Trip]:
    """Trips with their TripUpdates applied (see the module's docstring); trips without one unchanged.

    An update with a ``start_date`` applies only to the trip of that service date. For a trip made from
    frequencies (run ids ``trip@HH:MM:SS``, see :func:`expand_frequencies`), an update with a
    ``start_time`` applies to the run starting then only; one without applies to all runs, and one naming
    the run wins over one naming all.
    """
    by_trip: dict[str, list[TripUpdate]] = {}
    for update in updates:
        by_trip.setdefault(update.trip_id, []).append(update)
    out: list[Trip] = []
    for trip in trips:
        base, _at, run = trip.trip_id.partition("@")
        found = by_trip.get(trip.trip_id) or by_trip.get(base)
        chosen = None
        for update in found or []:
            if update.start_date is not None and update.start_date != trip.service_date:
                continue
            if update.start_time is None or not run:
                if chosen is None or chosen.start_time is None:
                    chosen = update
            elif _clock(update.start_time) == run:
                chosen = update
        if chosen is None:
            out.append(trip)
            continue
        if chosen.cancelled:
            continue
        changed = _delayed(trip, chosen, stop_ids)
        if len(changed.stops) >= 2:
            out.append(changed)
    return out


def _delayed(trip: Trip, update: TripUpdate, stop_ids: Sequence[str]) -> Trip:
    n = len(trip.stops)
    at: dict[int, StopUpdate] = {}
    for update_of_stop in update.stop_updates:
        su = update_of_stop
        index = None
        if su.stop_sequence is not None and su.stop_sequence in trip.sequences:
            index = trip.sequences.index(su.stop_sequence)
        elif su.stop_id is not None:
            for i, s in enumerate(trip.stops):
                if stop_ids[s] == su.stop_id:
                    index = i
                    break
        elif su.stop_sequence is None and trip.stops:
            index = 0  # a delay of the whole trip (TripUpdate.delay): from its first stop on
        if index is not None:
            at[index] = su
    arr_delay = [0] * n
    dep_delay = [0] * n
    keep = [True] * n
    current: int | None = None
    for i in range(n):
        given = at.get(i)
        if given is not None:
            if given.skipped:
                keep[i] = False
            else:
                # a predicted time wins over a delay (GTFS-Realtime reference, StopTimeEvent)
                a_in = (
                    given.arrival_time - trip.arr[i]
                    if given.arrival_time is not None
                    else given.arrival_delay
                )
                d_in = (
                    given.departure_time - trip.dep[i]
                    if given.departure_time is not None
                    else given.departure_delay
                )
                a = a_in if a_in is not None else d_in
                d = d_in if d_in is not None else a
                if a is None:
                    current = None  # NO_DATA: scheduled from here until the next delay given
                    continue
                arr_delay[i] = a
                dep_delay[i] = d if d is not None else a
                current = dep_delay[i]
                continue
        if current is not None:
            arr_delay[i] = dep_delay[i] = current
    arr = [t + d for t, d in zip(trip.arr, arr_delay, strict=True)]
    dep = [max(t + d, a) for t, d, a in zip(trip.dep, dep_delay, arr, strict=True)]
    # a vehicle cannot leave a stop before it left the one before: late departures push the rest on
    for i in range(1, n):
        if arr[i] < dep[i - 1]:
            arr[i] = dep[i - 1]
        if dep[i] < arr[i]:
            dep[i] = arr[i]
    idx = [i for i in range(n) if keep[i]]
    return replace(
        trip,
        stops=[trip.stops[i] for i in idx],
        arr=[arr[i] for i in idx],
        dep=[dep[i] for i in idx],
        pickup=[trip.pickup[i] for i in idx],
        dropoff=[trip.dropoff[i] for i in idx],
        arr_delay=[arr[i] - trip.arr[i] for i in idx],
        dep_delay=[dep[i] - trip.dep[i] for i in idx],
        sequences=[trip.sequences[i] for i in idx],
        realtime=True,
    )


# --- footpaths ------------------------------------------------------------------------------------


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(min(1.0, math.sqrt(h)))


def walk_seconds(meters: float, speed: float = WALK_SPEED_M_S) -> int:
    return max(MIN_WALK_S, math.ceil(meters / speed))


def base_footpaths(
    stops: Sequence[Stop],
    transfers: Iterable[Transfer] = (),
    *,
    max_walk_m: float = MAX_WALK_M,
    speed: float = WALK_SPEED_M_S,
) -> dict[tuple[int, int], int]:
    """Direct walks: every pair of stops within ``max_walk_m``, both ways, then transfers.txt.

    ``transfer_type`` 3 removes the walk, a ``min_transfer_time`` sets its time (else the walking time or
    a minute); transfers from a stop to itself are not walks and left out.
    """
    edges: dict[tuple[int, int], int] = {}
    if max_walk_m > 0 and stops:
        cell = max_walk_m / 111_000.0  # degrees of latitude; longitude cells are scaled below
        mean_lat = sum(s.lat for s in stops) / len(stops)
        lon_cell = cell / max(0.05, math.cos(math.radians(mean_lat)))
        grid: dict[tuple[int, int], list[int]] = {}
        for i, s in enumerate(stops):
            grid.setdefault((math.floor(s.lat / cell), math.floor(s.lon / lon_cell)), []).append(i)
        for (gy, gx), members in grid.items():
            near = [j for dy in (-1, 0, 1) for dx in (-1, 0, 1) for j in grid.get((gy + dy, gx + dx), [])]
            for i in members:
                a = stops[i]
                for j in near:
                    if j == i:
                        continue
                    b = stops[j]
                    d = distance_m(a.lat, a.lon, b.lat, b.lon)
                    if d <= max_walk_m:
                        edges[(i, j)] = walk_seconds(d, speed)
    for t in transfers:
        if t.from_stop == t.to_stop or t.scoped:
            continue  # a change at one stop, or a rule for some routes/trips only: not a walk
        key = (t.from_stop, t.to_stop)
        if t.transfer_type == 3:
            edges.pop(key, None)
        elif t.min_transfer_time is not None:
            edges[key] = max(0, t.min_transfer_time)
        elif key not in edges:
            a, b = stops[t.from_stop], stops[t.to_stop]
            edges[key] = walk_seconds(distance_m(a.lat, a.lon, b.lat, b.lon), speed)
    return edges


def close_footpaths(n_stops: int, edges: Mapping[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """The transitive closure: the shortest walking time for every pair connected by walks at all."""
    adjacency: dict[int, list[tuple[int, int]]] = {}
    for (a, b), w in edges.items():
        adjacency.setdefault(a, []).append((b, w))
    closed: dict[tuple[int, int], int] = {}
    for source in adjacency:
        best: dict[int, int] = {source: 0}
        heap = [(0, source)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > best.get(u, d):
                continue
            for v, w in adjacency.get(u, ()):
                nd = d + w
                if nd < best.get(v, nd + 1):
                    best[v] = nd
                    heapq.heappush(heap, (nd, v))
        for v, d in best.items():
            if v != source:
                closed[(source, v)] = d
    return closed


# --- transfer rules -------------------------------------------------------------------------------

DEFAULT_CHANGE_S = 0  # changing at one stop with no rule for it: as soon as the next vehicle leaves


def base_trip_id(trip_id: str) -> str:
    """The GTFS trip id of a run (``T@08:10:00`` of frequency trip ``T`` is ``T``)."""
    return trip_id.split("@", 1)[0]


class TransferRules:
    """transfers.txt as the planner applies it to changing from one ride to the next.

    For an arriving trip ``A`` alighting at stop ``s`` and a departing trip ``B`` boarding at ``s2``, the
    rule that applies is the most specific one (GTFS: both trips > a trip and a route > one trip > both
    routes > one route > stops only; a row naming the platform beats one naming its station; then the
    first row) among the rows for ``(s, s2)`` whose trips and routes match. Its type gives the time
    needed between the arrival and the departure: 1 (timed: guaranteed) 0 s, 2 ``min_transfer_time``, 3
    no change possible, 0 (or 2 without a time) the default: :data:`DEFAULT_CHANGE_S` at one stop, the
    walk between two stops (none: no change).

    A trip that matches no narrowed rule at ``s`` is passed as ``None`` (route and trip): all such
    trips change alike ("generic"), which is what lets RAPTOR keep one label per stop for them.
    """

    def __init__(self, transfers: Iterable[Transfer]) -> None:
        rows = list(transfers)
        order = {id(t): i for i, t in enumerate(rows)}
        self.by_pair: dict[tuple[int, int], list[Transfer]] = {}
        for t in rows:
            self.by_pair.setdefault((t.from_stop, t.to_stop), []).append(t)
        for found in self.by_pair.values():
            found.sort(key=lambda t: (-t.specificity, t.station, order[id(t)]))
        self.targets: dict[int, set[int]] = {}
        self.sources: dict[int, set[int]] = {}
        for a, b in self.by_pair:
            self.targets.setdefault(a, set()).add(b)
            self.sources.setdefault(b, set()).add(a)
        self.from_trips: dict[int, set[str]] = {}
        self.from_routes: dict[int, set[str]] = {}
        self.to_trips: dict[int, set[str]] = {}
        self.to_routes: dict[int, set[str]] = {}
        self.named_trips: set[str] = set()
        for t in rows:
            if t.from_trip is not None:
                self.from_trips.setdefault(t.from_stop, set()).add(t.from_trip)
                self.named_trips.add(t.from_trip)
            elif t.from_route is not None:
                self.from_routes.setdefault(t.from_stop, set()).add(t.from_route)
            if t.to_trip is not None:
                self.to_trips.setdefault(t.to_stop, set()).add(t.to_trip)
                self.named_trips.add(t.to_trip)
            elif t.to_route is not None:
                self.to_routes.setdefault(t.to_stop, set()).add(t.to_route)
        self.any = bool(rows)
        self.any_scoped = any(t.scoped for t in rows)

    def from_special(self, stop: int, trip_id: str, route_id: str) -> bool:
        """Does a narrowed rule from ``stop`` name this trip (base id) or its route?"""
        return base_trip_id(trip_id) in self.from_trips.get(stop, ()) or route_id in self.from_routes.get(
            stop, ()
        )

    def to_special(self, stop: int, trip_id: str, route_id: str) -> bool:
        return base_trip_id(trip_id) in self.to_trips.get(stop, ()) or route_id in self.to_routes.get(
            stop, ()
        )

    def rule(
        self,
        from_stop: int,
        to_stop: int,
        from_trip: str | None = None,
        from_route: str | None = None,
        to_trip: str | None = None,
        to_route: str | None = None,
    ) -> Transfer | None:
        """The row that applies (see the class), or None."""
        ft = base_trip_id(from_trip) if from_trip is not None else None
        tt = base_trip_id(to_trip) if to_trip is not None else None
        for t in self.by_pair.get((from_stop, to_stop), ()):
            if t.from_trip is not None:
                if t.from_trip != ft:
                    continue
            elif t.from_route is not None and t.from_route != from_route:
                continue
            if t.to_trip is not None:
                if t.to_trip != tt:
                    continue
            elif t.to_route is not None and t.to_route != to_route:
                continue
            return t
        return None

    def time(
        self,
        from_stop: int,
        to_stop: int,
        walk: int | None,
        from_trip: str | None = None,
        from_route: str | None = None,
        to_trip: str | None = None,
        to_route: str | None = None,
    ) -> int | None:
        """Seconds needed between arriving and departing, or None if the change is not possible.

        ``walk``: the walking time between two different stops (None: no walk); ignored at one stop.
        """
        default = DEFAULT_CHANGE_S if from_stop == to_stop else walk
        t = self.rule(from_stop, to_stop, from_trip, from_route, to_trip, to_route)
        if t is None:
            return default
        if t.transfer_type == 3:
            return None
        if t.transfer_type == 1:
            return 0
        if t.transfer_type == 2 and t.min_transfer_time is not None:
            return max(0, t.min_transfer_time)
        return default


# --- the timetable --------------------------------------------------------------------------------


@dataclass
class Timetable:
    """Patterns, their trips' times, and the closed footpaths (see the module's docstring)."""

    stops: list[Stop]
    routes: dict[str, Route]
    # patterns
    slot_start: IntArray  # n_patterns + 1
    slot_stop: IntArray  # S
    slot_pattern: IntArray  # S
    slot_pickup: BoolArray  # S
    slot_dropoff: BoolArray  # S
    trip_start: IntArray  # n_patterns + 1, global trip index of a pattern's first trip
    time_start: IntArray  # S, where the slot's column of times begins
    arr: IntArray  # T
    dep: IntArray  # T
    arr_delay: IntArray  # T
    dep_delay: IntArray  # T
    # trips, by global index
    trip_ids: list[str]
    trip_route: list[str]
    trip_headsign: list[str]
    trip_realtime: list[bool]
    trip_date: list[date | None]
    # footpaths (closed), CSR by origin stop
    walk_start: IntArray  # n_stops + 1
    walk_to: IntArray
    walk_time: IntArray
    day: date | None = None
    reversed: bool = False
    transfers: list[Transfer] = field(default_factory=list)  # transfers.txt (reversed in a reversed one)
    stop_notes: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)  # pickup/drop-off 2, 3
    station_names: dict[str, str] = field(default_factory=dict)  # parent stations (stop_id -> name)
    _reverse: Timetable | None = field(default=None, repr=False)
    _stop_index: dict[str, int] = field(default_factory=dict, repr=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # arrays the search derives once

    @property
    def n_stops(self) -> int:
        return len(self.stops)

    @property
    def n_patterns(self) -> int:
        return len(self.slot_start) - 1

    @property
    def n_trips(self) -> int:
        return len(self.trip_ids)

    @property
    def n_stop_times(self) -> int:
        return len(self.arr)

    def stop_index(self, stop_id: str) -> int:
        if not self._stop_index:
            self._stop_index = {s.stop_id: i for i, s in enumerate(self.stops)}
        return self._stop_index[stop_id]

    @property
    def rules(self) -> TransferRules:
        """The transfer rules (built once)."""
        found = self.cache.get("rules")
        if isinstance(found, TransferRules):
            return found
        rules = TransferRules(self.transfers)
        self.cache["rules"] = rules
        return rules

    def walks_from(self, stop: int) -> list[tuple[int, int]]:
        a, b = int(self.walk_start[stop]), int(self.walk_start[stop + 1])
        return list(zip(self.walk_to[a:b].tolist(), self.walk_time[a:b].tolist(), strict=True))

    def trip_times(self, trip: int) -> tuple[list[int], list[int], list[int], list[bool], list[bool]]:
        """Stops, arrivals, departures, pick-up and drop-off rules of one trip (by global index)."""
        p = int(np.searchsorted(self.trip_start, trip, side="right")) - 1
        j = trip - int(self.trip_start[p])
        slots = range(int(self.slot_start[p]), int(self.slot_start[p + 1]))
        starts = self.time_start[slots.start : slots.stop] + j
        return (
            self.slot_stop[slots.start : slots.stop].tolist(),
            self.arr[starts].tolist(),
            self.dep[starts].tolist(),
            self.slot_pickup[slots.start : slots.stop].tolist(),
            self.slot_dropoff[slots.start : slots.stop].tolist(),
        )

    def reverse(self) -> Timetable:
        """The same timetable backwards in time (times negated, patterns and walks reversed).

        An earliest-arrival search in it from the destination at ``-T`` is a latest-departure search
        for arriving by ``T``. Stops and patterns keep their indexes; a pattern's trips are in reverse
        order, so a trip's global index differs (its id and metadata go with it).
        """
        if self._reverse is None:
            self._reverse = _reversed(self)
            self._reverse._reverse = self
        return self._reverse


def build_timetable(
    stops: Sequence[Stop],
    routes: Mapping[str, Route],
    trips: Iterable[Trip],
    transfers: Iterable[Transfer] = (),
    *,
    max_walk_m: float = MAX_WALK_M,
    speed: float = WALK_SPEED_M_S,
    footpaths: Mapping[tuple[int, int], int] | None = None,
    day: date | None = None,
    stop_notes: Mapping[tuple[str, int], tuple[int, int]] | None = None,
) -> Timetable:
    """Group ``trips`` into non-overtaking patterns and close the footpaths.

    ``footpaths`` (direct walks, seconds) replaces the ones made from distances and transfers; they are
    closed all the same.

    ``stop_notes``: (GTFS trip id, stop index) -> (pickup_type, drop_off_type) where one of them is 2
    (phone the agency) or 3 (tell the driver): rides may start or end there, the leg says how.
    """
    transfers = list(transfers)
    named = TransferRules(transfers).named_trips
    groups: dict[tuple[Any, ...], list[Trip]] = {}
    for trip in trips:
        if len(trip.stops) < 2:
            continue
        key: tuple[Any, ...] = (trip.route_id, tuple(trip.stops), tuple(trip.pickup), tuple(trip.dropoff))
        if named and base_trip_id(trip.trip_id) in named:
            key = (*key, trip.trip_id)  # a trip with its own transfer rules: a pattern of its own
        groups.setdefault(key, []).append(trip)
    patterns: list[list[Trip]] = []
    for key in sorted(groups, key=repr):
        patterns.extend(_non_overtaking(groups[key]))

    slot_start = [0]
    slot_stop: list[int] = []
    slot_pickup: list[bool] = []
    slot_dropoff: list[bool] = []
    trip_start = [0]
    time_start: list[int] = []
    arr_cols: list[IntArray] = []
    dep_cols: list[IntArray] = []
    arr_d_cols: list[IntArray] = []
    dep_d_cols: list[IntArray] = []
    trip_ids: list[str] = []
    trip_route: list[str] = []
    trip_headsign: list[str] = []
    trip_realtime: list[bool] = []
    trip_date: list[date | None] = []
    offset = 0
    for pattern in patterns:
        first = pattern[0]
        m = len(pattern)
        arr = np.array([t.arr for t in pattern], dtype=np.int64)  # m x L
        dep = np.array([t.dep for t in pattern], dtype=np.int64)
        arr_d = np.array([t.arr_delay for t in pattern], dtype=np.int64)
        dep_d = np.array([t.dep_delay for t in pattern], dtype=np.int64)
        for i, stop in enumerate(first.stops):
            slot_stop.append(stop)
            slot_pickup.append(first.pickup[i])
            slot_dropoff.append(first.dropoff[i])
            time_start.append(offset)
            offset += m
        arr_cols.append(arr.T.reshape(-1))
        dep_cols.append(dep.T.reshape(-1))
        arr_d_cols.append(arr_d.T.reshape(-1))
        dep_d_cols.append(dep_d.T.reshape(-1))
        slot_start.append(len(slot_stop))
        trip_start.append(trip_start[-1] + m)
        for t in pattern:
            trip_ids.append(t.trip_id)
            trip_route.append(t.route_id)
            trip_headsign.append(t.headsign)
            trip_realtime.append(t.realtime)
            trip_date.append(t.service_date)

    def cat(parts: list[IntArray]) -> IntArray:
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    direct = (
        dict(footpaths)
        if footpaths is not None
        else base_footpaths(stops, transfers, max_walk_m=max_walk_m, speed=speed)
    )
    closed = close_footpaths(len(stops), direct)
    walk_start, walk_to, walk_time = _csr(len(stops), closed)
    n_slots = len(slot_stop)
    lengths = np.diff(np.array(slot_start, dtype=np.int64)).astype(np.int64)
    slot_pattern = np.repeat(np.arange(len(patterns), dtype=np.int64), lengths)
    assert len(slot_pattern) == n_slots
    return Timetable(
        stops=list(stops),
        routes=dict(routes),
        slot_start=np.array(slot_start, dtype=np.int64),
        slot_stop=np.array(slot_stop, dtype=np.int64),
        slot_pattern=slot_pattern,
        slot_pickup=np.array(slot_pickup, dtype=np.bool_),
        slot_dropoff=np.array(slot_dropoff, dtype=np.bool_),
        trip_start=np.array(trip_start, dtype=np.int64),
        time_start=np.array(time_start, dtype=np.int64),
        arr=cat(arr_cols),
        dep=cat(dep_cols),
        arr_delay=cat(arr_d_cols),
        dep_delay=cat(dep_d_cols),
        trip_ids=trip_ids,
        trip_route=trip_route,
        trip_headsign=trip_headsign,
        trip_realtime=trip_realtime,
        trip_date=trip_date,
        walk_start=walk_start,
        walk_to=walk_to,
        walk_time=walk_time,
        day=day,
        transfers=transfers,
        stop_notes=dict(stop_notes or {}),
    )


def _non_overtaking(trips: list[Trip]) -> list[list[Trip]]:
    """Split trips of one stop sequence into groups where each trip is no earlier anywhere than the one
    before (arrivals and departures at every stop), greedily in order of first departure."""
    groups: list[list[Trip]] = []
    lasts: list[tuple[IntArray, IntArray]] = []
    for trip in sorted(trips, key=lambda t: (t.dep[0], t.arr[-1], t.trip_id)):
        a = np.asarray(trip.arr, dtype=np.int64)
        d = np.asarray(trip.dep, dtype=np.int64)
        for k, (la, ld) in enumerate(lasts):
            if bool(np.all(a >= la)) and bool(np.all(d >= ld)):
                groups[k].append(trip)
                lasts[k] = (a, d)
                break
        else:
            groups.append([trip])
            lasts.append((a, d))
    return groups


def _csr(n: int, pairs: Mapping[tuple[int, int], int]) -> tuple[IntArray, IntArray, IntArray]:
    items = sorted(pairs.items())
    counts = np.zeros(n + 1, dtype=np.int64)
    for (a, _b), _w in items:
        counts[a + 1] += 1
    start = np.cumsum(counts)
    to = np.array([b for (_a, b), _w in items], dtype=np.int64)
    time = np.array([w for _k, w in items], dtype=np.int64)
    return start, to, time


def _reversed(tt: Timetable) -> Timetable:
    slot_start: list[int] = [0]
    slot_stop: list[IntArray] = []
    slot_pickup: list[BoolArray] = []
    slot_dropoff: list[BoolArray] = []
    time_start: list[IntArray] = []
    arr: list[IntArray] = []
    dep: list[IntArray] = []
    arr_d: list[IntArray] = []
    dep_d: list[IntArray] = []
    trip_order: list[IntArray] = []
    offset = 0
    for p in range(tt.n_patterns):
        a, b = int(tt.slot_start[p]), int(tt.slot_start[p + 1])
        m = int(tt.trip_start[p + 1] - tt.trip_start[p])
        L = b - a
        slot_stop.append(tt.slot_stop[a:b][::-1])
        slot_pickup.append(tt.slot_dropoff[a:b][::-1])
        slot_dropoff.append(tt.slot_pickup[a:b][::-1])
        t0 = int(tt.time_start[a])
        block_a = tt.arr[t0 : t0 + L * m].reshape(L, m)
        block_d = tt.dep[t0 : t0 + L * m].reshape(L, m)
        block_ad = tt.arr_delay[t0 : t0 + L * m].reshape(L, m)
        block_dd = tt.dep_delay[t0 : t0 + L * m].reshape(L, m)
        # reversed: stop order reversed, trip order reversed, arrival <-> -departure
        arr.append((-block_d[::-1, ::-1]).reshape(-1))
        dep.append((-block_a[::-1, ::-1]).reshape(-1))
        arr_d.append(block_dd[::-1, ::-1].reshape(-1))
        dep_d.append(block_ad[::-1, ::-1].reshape(-1))
        time_start.append(offset + np.arange(L, dtype=np.int64) * m)
        offset += L * m
        slot_start.append(slot_start[-1] + L)
        trip_order.append(np.arange(int(tt.trip_start[p + 1]) - 1, int(tt.trip_start[p]) - 1, -1))
    order = np.concatenate(trip_order) if trip_order else np.zeros(0, dtype=np.int64)
    pairs = {
        (int(tt.walk_to[k]), a): int(tt.walk_time[k])
        for a in range(tt.n_stops)
        for k in range(int(tt.walk_start[a]), int(tt.walk_start[a + 1]))
    }
    walk_start, walk_to, walk_time = _csr(tt.n_stops, pairs)

    def cat(parts: Sequence[npt.NDArray[Any]], dtype: Any) -> npt.NDArray[Any]:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    rev = Timetable(
        stops=tt.stops,
        routes=tt.routes,
        slot_start=np.array(slot_start, dtype=np.int64),
        slot_stop=cat(slot_stop, np.int64),
        slot_pattern=tt.slot_pattern,
        slot_pickup=cat(slot_pickup, np.bool_),
        slot_dropoff=cat(slot_dropoff, np.bool_),
        trip_start=tt.trip_start,
        time_start=cat(time_start, np.int64),
        arr=cat(arr, np.int64),
        dep=cat(dep, np.int64),
        arr_delay=cat(arr_d, np.int64),
        dep_delay=cat(dep_d, np.int64),
        trip_ids=[tt.trip_ids[i] for i in order.tolist()],
        trip_route=[tt.trip_route[i] for i in order.tolist()],
        trip_headsign=[tt.trip_headsign[i] for i in order.tolist()],
        trip_realtime=[tt.trip_realtime[i] for i in order.tolist()],
        trip_date=[tt.trip_date[i] for i in order.tolist()],
        walk_start=walk_start,
        walk_to=walk_to,
        walk_time=walk_time,
        day=tt.day,
        reversed=not tt.reversed,
        transfers=[t.reversed() for t in tt.transfers],
        stop_notes={key: (drop, pick) for key, (pick, drop) in tt.stop_notes.items()},
        station_names=tt.station_names,
    )
    rev._stop_index = tt._stop_index
    return rev


# --- from the database ----------------------------------------------------------------------------

NEXT_DAY_UNTIL = 6 * 3600  # trips of the next service day that leave before 06:00 are planned too


async def load_timetable(
    session: AsyncSession,
    day: date,
    *,
    realtime: bool = True,
    timezone: str = "Europe/Berlin",
    max_walk_m: float = MAX_WALK_M,
) -> Timetable:
    """The active feed's timetable for service day ``day``, realtime applied.

    Included: the trips of ``day``, the trips of the day before that still run after midnight (times
    shifted by -24 h) and the trips of the next day leaving before 06:00 (+24 h), so that a journey in
    the night is found. Stops are the feed's stops and platforms (``location_type`` 0).
    """
    from sqlalchemy import select

    from stadtkern.mobility import models as m

    feed = await session.scalar(
        select(m.Feed).where(m.Feed.active).order_by(m.Feed.imported_at.desc()).limit(1)
    )
    if feed is None:
        return build_timetable([], {}, [], day=day)
    stop_rows = (
        await session.execute(
            select(
                m.Stop.id,
                m.Stop.stop_id,
                m.Stop.name,
                m.Stop.lat,
                m.Stop.lon,
                m.Stop.platform_code,
                m.Stop.parent_station,
            )
            .where(m.Stop.feed_id == feed.id, m.Stop.location_type == m.STOP)
            .order_by(m.Stop.id)
        )
    ).all()
    stops = [
        Stop(r.stop_id, r.name, r.lat or 0.0, r.lon or 0.0, r.platform_code or "", r.parent_station or "")
        for r in stop_rows
    ]
    index = {r.id: i for i, r in enumerate(stop_rows)}
    route_rows = (await session.scalars(select(m.Route).where(m.Route.feed_id == feed.id))).all()
    routes = {
        r.route_id: Route(r.route_id, r.short_name or r.long_name, r.long_name, r.route_type)
        for r in route_rows
    }
    route_of = {r.id: r.route_id for r in route_rows}
    calendar = [
        CalendarRow(
            c.service_id,
            (c.monday, c.tuesday, c.wednesday, c.thursday, c.friday, c.saturday, c.sunday),
            c.start_date,
            c.end_date,
        )
        for c in (await session.scalars(select(m.Calendar).where(m.Calendar.feed_id == feed.id))).all()
    ]
    exceptions = [
        CalendarDateRow(c.service_id, c.date, c.exception_type)
        for c in (
            await session.scalars(select(m.CalendarDate).where(m.CalendarDate.feed_id == feed.id))
        ).all()
    ]
    days = {
        offset: active_services(calendar, exceptions, day + timedelta(days=offset)) for offset in (-1, 0, 1)
    }
    wanted = set().union(*days.values())
    trip_rows = (
        await session.execute(
            select(m.Trip.id, m.Trip.trip_id, m.Trip.route_pk, m.Trip.headsign, m.Trip.service_id).where(
                m.Trip.feed_id == feed.id, m.Trip.service_id.in_(wanted)
            )
        )
    ).all()
    trip_of = {r.id: r for r in trip_rows}
    times: dict[int, list[Any]] = {}
    for st in (
        await session.execute(
            select(
                m.StopTime.trip_pk,
                m.StopTime.stop_sequence,
                m.StopTime.stop_pk,
                m.StopTime.arrival,
                m.StopTime.departure,
                m.StopTime.pickup_type,
                m.StopTime.drop_off_type,
            )
            .join(m.Trip, m.Trip.id == m.StopTime.trip_pk)
            .where(m.Trip.feed_id == feed.id, m.Trip.service_id.in_(wanted))
            .order_by(m.StopTime.trip_pk, m.StopTime.stop_sequence)
        )
    ).all():
        times.setdefault(st.trip_pk, []).append(st)
    frequencies: dict[int, list[FrequencyRow]] = {}
    for f in (await session.scalars(select(m.Frequency).where(m.Frequency.feed_id == feed.id))).all():
        if f.trip_pk in trip_of:
            frequencies.setdefault(f.trip_pk, []).append(
                FrequencyRow(trip_of[f.trip_pk].trip_id, f.start, f.end, f.headway_secs)
            )
    trips: list[Trip] = []
    for offset, services in days.items():
        shift = offset * DAY
        for pk, rows in times.items():
            row = trip_of[pk]
            if row.service_id not in services or any(r.stop_pk not in index for r in rows):
                continue
            base = Trip(
                row.trip_id,
                route_of.get(row.route_pk, ""),
                row.headsign,
                [index[r.stop_pk] for r in rows],
                [r.arrival + shift for r in rows],
                [r.departure + shift for r in rows],
                [r.pickup_type != 1 for r in rows],
                [r.drop_off_type != 1 for r in rows],
                sequences=[r.stop_sequence for r in rows],
                service_date=day + timedelta(days=offset),
            )
            for trip in expand_frequencies([base], frequencies.get(pk, []), offset=shift):
                if offset < 0 and trip.arr[-1] < 0:
                    continue
                if offset > 0 and trip.dep[0] >= DAY + NEXT_DAY_UNTIL:
                    continue
                trips.append(trip)
    if realtime:
        trips = apply_realtime(
            trips, await _realtime_updates(session, day, timezone), [s.stop_id for s in stops]
        )
    stations = {
        r.stop_id: r.name
        for r in (
            await session.execute(
                select(m.Stop.stop_id, m.Stop.name).where(
                    m.Stop.feed_id == feed.id, m.Stop.location_type == m.STATION
                )
            )
        ).all()
    }
    transfers = await _transfers(session, feed.id, stop_rows, index, route_of)
    notes = {
        (trip_of[pk].trip_id, index[r.stop_pk]): (r.pickup_type, r.drop_off_type)
        for pk, rows in times.items()
        for r in rows
        if r.stop_pk in index and (r.pickup_type in (2, 3) or r.drop_off_type in (2, 3))
    }
    # grouping and the footpath closure are CPU work: off the event loop
    tt = await asyncio.to_thread(
        build_timetable,
        stops,
        routes,
        trips,
        transfers,
        max_walk_m=max_walk_m,
        day=day,
        stop_notes=notes,
    )
    tt.station_names = stations
    return tt


async def _transfers(
    session: AsyncSession,
    feed_id: int,
    stop_rows: Sequence[Any],
    index: Mapping[int, int],
    route_of: Mapping[int, str],
) -> list[Transfer]:
    """The feed's transfers.txt rows for the planner: a station stands for each of its platforms."""
    from sqlalchemy import select

    from stadtkern.mobility import models as m

    rows = (await session.scalars(select(m.Transfer).where(m.Transfer.feed_id == feed_id))).all()
    if not rows:
        return []
    stations = (
        await session.execute(
            select(m.Stop.id, m.Stop.stop_id).where(
                m.Stop.feed_id == feed_id, m.Stop.location_type == m.STATION
            )
        )
    ).all()
    children: dict[str, list[int]] = {}
    for r in stop_rows:
        if r.parent_station:
            children.setdefault(r.parent_station, []).append(index[r.id])
    station_of = {r.id: children.get(r.stop_id, []) for r in stations}
    trip_pks = {pk for t in rows for pk in (t.from_trip_pk, t.to_trip_pk) if pk is not None}
    trip_ids: dict[int, str] = {}
    if trip_pks:
        trip_ids = {
            r.id: r.trip_id
            for r in (
                await session.execute(select(m.Trip.id, m.Trip.trip_id).where(m.Trip.id.in_(trip_pks)))
            ).all()
        }

    def expand(pk: int) -> tuple[list[int], bool]:
        if pk in index:
            return [index[pk]], False
        return station_of.get(pk, []), True

    def named(pk: int | None, names: Mapping[int, str]) -> str | None:
        return None if pk is None else names.get(pk, f"#{pk}")

    out: list[Transfer] = []
    for t in rows:
        froms, from_station = expand(t.from_stop_pk)
        tos, to_station = expand(t.to_stop_pk)
        for a in froms:
            for b in tos:
                out.append(
                    Transfer(
                        a,
                        b,
                        t.transfer_type,
                        t.min_transfer_time,
                        from_route=named(t.from_route_pk, route_of),
                        to_route=named(t.to_route_pk, route_of),
                        from_trip=named(t.from_trip_pk, trip_ids),
                        to_trip=named(t.to_trip_pk, trip_ids),
                        station=from_station or to_station,
                    )
                )
    return out


async def _realtime_updates(session: AsyncSession, day: date, timezone: str) -> list[TripUpdate]:
    """TripUpdates from the realtime table for the timetable of ``day``.

    Predicted times (POSIX seconds) become seconds from the start of ``day`` in ``timezone`` (noon minus
    12 h), the timetable's clock; trips of the day before and after are shifted by whole days there, so on
    the two days the clocks change a predicted time of such a trip is an hour off.
    """
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from stadtkern.mobility import models as m
    from stadtkern.mobility.realtime import FEED_ROW

    noon = datetime.combine(day, time(12), tzinfo=ZoneInfo(timezone)).astimezone(UTC)
    origin = int(noon.timestamp()) - 12 * 3600

    def clock(value: int | None) -> int | None:
        return None if value is None else value - origin

    rows = (
        await session.scalars(
            select(m.RealtimeTripUpdate)
            .where(m.RealtimeTripUpdate.trip_id != FEED_ROW)
            .order_by(m.RealtimeTripUpdate.trip_id, m.RealtimeTripUpdate.id)
        )
    ).all()
    grouped: dict[tuple[str, date | None, str], list[Any]] = {}
    for r in rows:
        grouped.setdefault((r.trip_id, r.start_date or day, r.start_time or ""), []).append(r)
    updates = []
    for (trip_id, start_date, start_time), items in grouped.items():
        cancelled = any(
            r.trip_relationship == m.CANCELED and r.stop_sequence is None and r.stop_id is None for r in items
        )
        stop_updates = tuple(
            StopUpdate(
                r.stop_sequence,
                r.stop_id,
                r.arrival_delay,
                r.departure_delay,
                skipped=r.relationship == m.SKIPPED,
                arrival_time=clock(r.arrival_time),
                departure_time=clock(r.departure_time),
            )
            for r in items
            if r.stop_sequence is not None or r.stop_id is not None
        )
        # a trip-wide delay (TripUpdate.delay) is stored as the trip row's delay: from the first stop on
        trip_delay = next(
            (
                r.arrival_delay
                for r in items
                if r.stop_sequence is None and r.stop_id is None and r.arrival_delay is not None
            ),
            None,
        )
        if trip_delay is not None:
            stop_updates = (StopUpdate(None, None, trip_delay, trip_delay), *stop_updates)
        updates.append(TripUpdate(trip_id, start_date, cancelled, stop_updates, _seconds(start_time)))
    return updates


def _seconds(clock: str) -> int | None:
    """``HH:MM:SS`` (hours may pass 24) as seconds; None when empty or not a time."""
    parts = clock.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    hours, minutes, seconds = (int(p) for p in parts)
    return hours * 3600 + minutes * 60 + seconds
