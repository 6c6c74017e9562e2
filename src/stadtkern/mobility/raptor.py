"""RAPTOR over a :class:`~stadtkern.mobility.timetable.Timetable`: earliest arrival, Pareto-optimal on rides.

Round ``k`` finds the earliest arrival at every stop with at most ``k`` rides (Delling, Pajor, Werneck:
"Round-Based Public Transit Routing", 2012). Each round is vectorised over the whole network in numpy:

1. for every slot (a stop of a pattern) the earliest trip of the pattern that can be boarded there with
   the arrivals of round ``k-1`` (one ``searchsorted`` over all slots' columns at once, keyed by slot);
2. per pattern, a running minimum of those trips along the stops (exclusive: boarding before the stop)
   gives the trip one sits in when reaching each stop — patterns never overtake, so the earliest trip is
   the best — and so the arrival at every slot;
3. the best arrival per stop, if better than what is known (and than the destination, "target
   pruning"), becomes the stop's label; then one walk from each stop just reached by a ride. Walks are
   transitively closed in the timetable, so one walk is as good as any chain of walks.

The result for a query is one journey per number of rides that arrives strictly earlier than every journey
with fewer rides (the Pareto set on arrival time and rides). ``arrive_by`` runs the same search in the
reversed timetable (:meth:`Timetable.reverse`): latest departure, Pareto-optimal on rides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from stadtkern.mobility.timetable import INF, IntArray, Timetable

MAX_RIDES = 8
_SHIFT = 8 * 86_400  # times are shifted to be >= 0 in the keyed column search
_BIG = 2**22  # > every shifted time: one key range per slot


@dataclass(frozen=True)
class Leg:
    """A ride or a walk. Times in seconds of the service day; stops are indexes into the timetable."""

    kind: str  # "ride" | "walk"
    from_stop: int
    to_stop: int
    departure: int
    arrival: int
    trip_id: str = ""
    route_id: str = ""
    headsign: str = ""
    departure_delay: int = 0  # realtime, seconds (included in ``departure``)
    arrival_delay: int = 0
    realtime: bool = False
    stops: tuple[tuple[int, int, int], ...] = ()  # ride: (stop, arrival, departure) from board to alight


@dataclass(frozen=True)
class Journey:
    legs: tuple[Leg, ...]
    rides: int

    @property
    def departure(self) -> int:
        return self.legs[0].departure

    @property
    def arrival(self) -> int:
        return self.legs[-1].arrival

    @property
    def transfers(self) -> int:
        return max(0, self.rides - 1)


@dataclass
class _Round:
    tau: IntArray
    # stop -> (global trip, board slot, alight slot, arrival)
    ride: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    # stop -> (from stop, departure, arrival)
    walk: dict[int, tuple[int, int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Prepared:
    dep_keyed: IntArray  # per stop time: slot * BIG + dep + SHIFT (sorted)
    slot_m: IntArray  # trips of the slot's pattern
    enc_base: IntArray  # per slot: (n_patterns - 1 - pattern) * M2
    local: IntArray  # per slot: index within its pattern
    width: int  # Lmax + 1
    m2: int


def _prepare(tt: Timetable) -> _Prepared:
    found = tt.cache.get("raptor")
    if isinstance(found, _Prepared):
        return found
    n_slots = len(tt.slot_stop)
    m_pattern = np.diff(tt.trip_start)
    slot_m = m_pattern[tt.slot_pattern] if n_slots else np.zeros(0, dtype=np.int64)
    slot_of_time = np.repeat(np.arange(n_slots, dtype=np.int64), slot_m)
    dep_keyed = slot_of_time * _BIG + tt.dep + _SHIFT
    lengths = np.diff(tt.slot_start)
    width = int(lengths.max()) + 1 if len(lengths) else 1
    max_m = int(m_pattern.max()) if len(m_pattern) else 0
    m2 = (max_m + 1) * width
    local = np.arange(n_slots, dtype=np.int64) - tt.slot_start[tt.slot_pattern]
    enc_base = (tt.n_patterns - 1 - tt.slot_pattern) * m2
    prepared = _Prepared(dep_keyed, slot_m, enc_base, local, width, m2)
    tt.cache["raptor"] = prepared
    return prepared


def _search(
    tt: Timetable, sources: Sequence[int], start: int, targets: Sequence[int], max_rides: int
) -> list[_Round]:
    pre = _prepare(tt)
    n = tt.n_stops
    target_arr = np.asarray(list(targets), dtype=np.int64)
    tau = np.full(n, INF, dtype=np.int64)
    first = _Round(tau)
    for s in sources:
        tau[s] = start
    # round 0: walks from the origin
    src = np.asarray(sorted(set(sources)), dtype=np.int64)
    _walk(tt, first, src, np.full(len(src), start, dtype=np.int64), target_arr)
    rounds = [first]
    for _k in range(1, max_rides + 1):
        prev = rounds[-1].tau
        current = _Round(prev.copy())
        improved = _ride(tt, pre, prev, current, target_arr)
        rounds.append(current)
        if not len(improved):
            break
        arrivals = current.tau[improved]
        _walk(tt, current, improved, arrivals, target_arr)
    return rounds


def _ride(tt: Timetable, pre: _Prepared, prev: IntArray, current: _Round, targets: IntArray) -> IntArray:
    n_slots = len(tt.slot_stop)
    if n_slots == 0:
        return np.zeros(0, dtype=np.int64)
    tau_slot = prev[tt.slot_stop]
    reachable = (tau_slot < INF) & tt.slot_pickup
    shifted = np.where(reachable, np.clip(tau_slot + _SHIFT, 0, _BIG - 1), _BIG - 1)
    keys = np.arange(n_slots, dtype=np.int64) * _BIG + shifted
    pos = np.searchsorted(pre.dep_keyed, keys, side="left")
    j = pos - tt.time_start
    j = np.where(reachable & (j < pre.slot_m), j, pre.slot_m.max(initial=0) + 1)
    j = np.minimum(j, pre.m2 // pre.width - 1)  # "no trip" within the encoding's range
    enc = pre.enc_base + j * pre.width + pre.local
    running = np.minimum.accumulate(enc)
    cur = np.empty_like(running)
    cur[0] = np.iinfo(np.int64).max
    cur[1:] = running[:-1]
    rel = cur - pre.enc_base
    in_pattern = (rel >= 0) & (rel < pre.m2)
    rel = np.where(in_pattern, rel, 0)
    trip_j = rel // pre.width
    board_local = rel % pre.width
    ok = in_pattern & (trip_j < pre.slot_m) & tt.slot_dropoff
    slots = np.nonzero(ok)[0]
    if not len(slots):
        return np.zeros(0, dtype=np.int64)
    tj = trip_j[slots]
    arrival = tt.arr[tt.time_start[slots] + tj]
    stops = tt.slot_stop[slots]
    bound = current.tau[targets].min(initial=INF) if len(targets) else INF
    better = (arrival < current.tau[stops]) & (arrival < bound)
    if not better.any():
        return np.zeros(0, dtype=np.int64)
    slots, tj, arrival, stops = slots[better], tj[better], arrival[better], stops[better]
    order = np.lexsort((arrival, stops))
    slots, tj, arrival, stops = slots[order], tj[order], arrival[order], stops[order]
    head = np.ones(len(stops), dtype=np.bool_)
    head[1:] = stops[1:] != stops[:-1]
    slots, tj, arrival, stops = slots[head], tj[head], arrival[head], stops[head]
    current.tau[stops] = arrival
    patterns = tt.slot_pattern[slots]
    trips = tt.trip_start[patterns] + tj
    boards = tt.slot_start[patterns] + board_local[slots]
    for s, trip, b, a, t in zip(
        stops.tolist(), trips.tolist(), boards.tolist(), slots.tolist(), arrival.tolist(), strict=True
    ):
        current.ride[s] = (trip, b, a, t)
    improved: IntArray = stops
    return improved


def _walk(tt: Timetable, current: _Round, sources: IntArray, times: IntArray, targets: IntArray) -> None:
    begin = tt.walk_start[sources]
    counts = tt.walk_start[sources + 1] - begin
    total = int(counts.sum())
    if total == 0:
        return
    owner = np.repeat(np.arange(len(sources), dtype=np.int64), counts)
    offsets = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    edges = begin[owner] + offsets
    to = tt.walk_to[edges]
    dep = times[owner]
    arrival = dep + tt.walk_time[edges]
    bound = current.tau[targets].min(initial=INF) if len(targets) else INF
    better = (arrival < current.tau[to]) & (arrival < bound)
    if not better.any():
        return
    to, arrival, dep, frm = to[better], arrival[better], dep[better], sources[owner[better]]
    order = np.lexsort((arrival, to))
    to, arrival, dep, frm = to[order], arrival[order], dep[order], frm[order]
    head = np.ones(len(to), dtype=np.bool_)
    head[1:] = to[1:] != to[:-1]
    to, arrival, dep, frm = to[head], arrival[head], dep[head], frm[head]
    current.tau[to] = arrival
    for v, u, d, a in zip(to.tolist(), frm.tolist(), dep.tolist(), arrival.tolist(), strict=True):
        current.walk[v] = (u, d, a)


def _reconstruct(tt: Timetable, rounds: list[_Round], k: int, stop: int) -> Journey:
    legs: list[Leg] = []
    r = k
    s = stop
    rides = 0
    force_ride = False
    while True:
        if not force_ride:
            while r > 0 and s not in rounds[r].ride and s not in rounds[r].walk:
                r -= 1
        label = rounds[r]
        if not force_ride and s in label.walk:
            u, d, a = label.walk[s]
            legs.append(Leg("walk", u, s, d, a))
            s = u
            force_ride = r > 0
            continue
        force_ride = False
        if r == 0:
            break
        trip, board, alight, _arrival = label.ride[s]
        legs.append(_ride_leg(tt, trip, board, alight))
        rides += 1
        s = int(tt.slot_stop[board])
        r -= 1
    legs.reverse()
    return Journey(tuple(legs), rides)


def _ride_leg(tt: Timetable, trip: int, board: int, alight: int) -> Leg:
    pattern = int(tt.slot_pattern[board])
    j = trip - int(tt.trip_start[pattern])
    idx = tt.time_start[board : alight + 1] + j
    stops = tt.slot_stop[board : alight + 1].tolist()
    arr = tt.arr[idx].tolist()
    dep = tt.dep[idx].tolist()
    return Leg(
        "ride",
        stops[0],
        stops[-1],
        dep[0],
        arr[-1],
        trip_id=tt.trip_ids[trip],
        route_id=tt.trip_route[trip],
        headsign=tt.trip_headsign[trip],
        departure_delay=int(tt.dep_delay[idx[0]]),
        arrival_delay=int(tt.arr_delay[idx[-1]]),
        realtime=tt.trip_realtime[trip],
        stops=tuple(zip(stops, arr, dep, strict=True)),
    )


def _pareto(tt: Timetable, rounds: list[_Round], targets: Sequence[int]) -> list[Journey]:
    out: list[Journey] = []
    best = int(INF)
    for k, label in enumerate(rounds):
        values = label.tau[list(targets)]
        i = int(np.argmin(values))
        if int(values[i]) < best:
            best = int(values[i])
            out.append(_reconstruct(tt, rounds, k, int(targets[i])))
    return out


def _tidy(journey: Journey) -> Journey:
    """A walk after a ride starts when the ride ends; a walk before the first ride ends as it leaves."""
    legs = list(journey.legs)
    for i, leg in enumerate(legs):
        if leg.kind != "walk":
            continue
        duration = leg.arrival - leg.departure
        if i > 0:
            start = legs[i - 1].arrival
            legs[i] = Leg("walk", leg.from_stop, leg.to_stop, start, start + duration)
        elif i + 1 < len(legs):
            end = legs[i + 1].departure
            legs[i] = Leg("walk", leg.from_stop, leg.to_stop, end - duration, end)
    return Journey(tuple(legs), journey.rides)


def depart_at(
    tt: Timetable,
    sources: Sequence[int],
    targets: Sequence[int],
    start: int,
    *,
    max_rides: int = MAX_RIDES,
) -> list[Journey]:
    """Leaving one of ``sources`` at ``start``: per number of rides the earliest arrival at a target,
    each arriving strictly earlier than all with fewer rides (fewest rides first)."""
    if set(sources) & set(targets):
        return []
    rounds = _search(tt, sources, start, targets, max_rides)
    return [_tidy(j) for j in _pareto(tt, rounds, targets)]


def arrive_by(
    tt: Timetable,
    sources: Sequence[int],
    targets: Sequence[int],
    end: int,
    *,
    max_rides: int = MAX_RIDES,
) -> list[Journey]:
    """Arriving at one of ``targets`` by ``end``: per number of rides the latest departure from a source,
    each leaving strictly later than all with fewer rides (fewest rides first)."""
    if set(sources) & set(targets):
        return []
    rev = tt.reverse()
    rounds = _search(rev, targets, -end, sources, max_rides)
    return [_tidy(_forward(j)) for j in _pareto(rev, rounds, sources)]


def _forward(journey: Journey) -> Journey:
    """A journey found in the reversed timetable, turned the right way round."""
    legs = []
    for leg in reversed(journey.legs):
        legs.append(
            Leg(
                leg.kind,
                leg.to_stop,
                leg.from_stop,
                -leg.arrival,
                -leg.departure,
                trip_id=leg.trip_id,
                route_id=leg.route_id,
                headsign=leg.headsign,
                departure_delay=leg.arrival_delay,
                arrival_delay=leg.departure_delay,
                realtime=leg.realtime,
                stops=tuple((s, -d, -a) for s, a, d in reversed(leg.stops)),
            )
        )
    return Journey(tuple(legs), journey.rides)


def summary(journeys: Sequence[Journey]) -> list[tuple[int, int, int]]:
    """(rides, departure, arrival) of each journey: what the tests compare."""
    return [(j.rides, j.departure, j.arrival) for j in journeys]


__all__ = ["MAX_RIDES", "Journey", "Leg", "arrive_by", "depart_at", "summary"]
