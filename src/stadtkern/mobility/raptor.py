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

With ``transfers.txt`` rules (:class:`~stadtkern.mobility.timetable.TransferRules`) the search keeps the
arrival at a stop (what the destination and the walks to it use) apart from the earliest time one can
board there after a change: per stop for the trips no narrowed rule names ("generic": after the stop's
change time, or the walk or the stop-to-stop rule's time from another stop), per slot for the trips a rule
names on the departing side; arrivals of trips a rule names on the arriving side pass through their own
edges. Trips a rule names by id get patterns of their own, so "the earliest trip of a pattern" stays the
best one and the results stay exact (checked against the reference on random rules). Every boarding label
remembers the arrival it came from, which is how the journey is put together again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from stadtkern.mobility.timetable import INF, BoolArray, IntArray, Timetable, base_trip_id

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
    pickup_type: int = 0  # GTFS at the boarding stop: 2 phone the agency, 3 tell the driver (else 0)
    drop_off_type: int = 0  # GTFS at the alighting stop, the same


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
class _Rules:
    """transfers.txt, prepared for the search (see :func:`_prepare_rules`).

    Stops change "generically" for trips that no narrowed rule names there: one boarding label per stop
    (``beta``), reached from a generic arrival at the same stop after ``change`` and at other stops over
    ``xfer`` (the closed walks with the stop-to-stop rules applied). A slot whose trip a narrowed rule
    names on the departing side ("special-to") has a boarding label of its own; a slot named on the
    arriving side ("special-from") passes its arrivals on over its own edges.
    """

    change: IntArray  # per stop: seconds to change at the stop (INF: not possible)
    xfer_start: IntArray  # CSR by stop: generic change to another stop
    xfer_to: IntArray
    xfer_time: IntArray
    sp_to: BoolArray  # per slot
    sp_from: BoolArray  # per slot
    g2s_start: IntArray  # CSR by stop: generic arrival there -> special-to slot
    g2s_slot: IntArray
    g2s_time: IntArray
    f_start: IntArray  # CSR by slot (special-from slots only have edges): -> stop (beta) or slot
    f_to_slot: BoolArray  # the edge's target is a special-to slot (else a stop's beta)
    f_target: IntArray
    f_time: IntArray


@dataclass(frozen=True)
class _Prepared:
    dep_keyed: IntArray  # per stop time: slot * BIG + dep + SHIFT (sorted)
    slot_m: IntArray  # trips of the slot's pattern
    enc_base: IntArray  # per slot: (n_patterns - 1 - pattern) * M2
    local: IntArray  # per slot: index within its pattern
    width: int  # Lmax + 1
    m2: int
    rules: _Rules | None  # None: no transfers.txt rules, the plain search


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
    rules = _prepare_rules(tt) if tt.rules.any else None
    prepared = _Prepared(dep_keyed, slot_m, enc_base, local, width, m2, rules)
    tt.cache["raptor"] = prepared
    return prepared


def _csr_rows(n: int, rows: Sequence[tuple[int, int, int]]) -> tuple[IntArray, IntArray, IntArray]:
    """CSR of (origin, target, time) rows: start per origin (n + 1), targets, times."""
    rows = sorted(rows)
    counts = np.zeros(n + 1, dtype=np.int64)
    for a, _b, _t in rows:
        counts[a + 1] += 1
    return (
        np.cumsum(counts),
        np.array([b for _a, b, _t in rows], dtype=np.int64),
        np.array([t for _a, _b, t in rows], dtype=np.int64),
    )


def _prepare_rules(tt: Timetable) -> _Rules:
    rules = tt.rules
    n, n_slots = tt.n_stops, len(tt.slot_stop)
    walks: list[dict[int, int]] = [dict(tt.walks_from(s)) for s in range(n)]
    into: dict[int, set[int]] = {}
    for a in range(n):
        for b in walks[a]:
            into.setdefault(b, set()).add(a)
    change = np.array([INF if (c := rules.time(s, s, None)) is None else c for s in range(n)], dtype=np.int64)
    xfer: list[tuple[int, int, int]] = []
    for a in range(n):
        for b in set(walks[a]) | (rules.targets.get(a, set()) - {a}):
            t = rules.time(a, b, walks[a].get(b))
            if t is not None:
                xfer.append((a, b, t))
    first = tt.trip_start[tt.slot_pattern].tolist()  # a trip of each slot's pattern: they change alike
    slot_stop = tt.slot_stop.tolist()
    trip_of = [(tt.trip_ids[g], tt.trip_route[g]) for g in first]
    sp_to = np.array([rules.to_special(slot_stop[x], *trip_of[x]) for x in range(n_slots)], dtype=np.bool_)
    sp_from = np.array(
        [rules.from_special(slot_stop[x], *trip_of[x]) for x in range(n_slots)], dtype=np.bool_
    )
    to_slots: dict[int, list[int]] = {}
    for x in np.nonzero(sp_to)[0].tolist():
        to_slots.setdefault(slot_stop[x], []).append(x)
    g2s: list[tuple[int, int, int]] = []
    for b, slots in to_slots.items():
        for a in {b} | into.get(b, set()) | rules.sources.get(b, set()):
            for x in slots:
                t = rules.time(a, b, walks[a].get(b), None, None, *trip_of[x])
                if t is not None:
                    g2s.append((a, x, t))
    f_rows: list[tuple[int, int, int]] = []  # (slot, encoded target, time); slots: target + n
    for x in np.nonzero(sp_from)[0].tolist():
        a = slot_stop[x]
        ft, fr = trip_of[x]
        for b in {a} | set(walks[a]) | rules.targets.get(a, set()):
            w = walks[a].get(b)
            t = rules.time(a, b, w, ft, fr)
            if t is not None:
                f_rows.append((x, b, t))
            for y in to_slots.get(b, ()):
                t = rules.time(a, b, w, ft, fr, *trip_of[y])
                if t is not None:
                    f_rows.append((x, n + y, t))
    xfer_start, xfer_to, xfer_time = _csr_rows(n, xfer)
    g2s_start, g2s_slot, g2s_time = _csr_rows(n, g2s)
    f_start, f_enc, f_time = _csr_rows(n_slots, f_rows)
    return _Rules(
        change,
        xfer_start,
        xfer_to,
        xfer_time,
        sp_to,
        sp_from,
        g2s_start,
        g2s_slot,
        g2s_time,
        f_start,
        f_enc >= n,
        np.where(f_enc >= n, f_enc - n, f_enc),
        f_time,
    )


Ride = tuple[int, int, int, int]  # (global trip, board slot, alight slot, arrival)


@dataclass(frozen=True)
class _Arrivals:
    """Ride arrivals of one round (parallel arrays): where, which trip, boarded and alighted where."""

    at: IntArray  # stop (generic) or slot (special-from): the key the parents refer to
    trips: IntArray
    boards: IntArray
    slots: IntArray
    arrival: IntArray

    def ride(self, key: int) -> Ride:
        i = int(np.nonzero(self.at == key)[0][0])
        return int(self.trips[i]), int(self.boards[i]), int(self.slots[i]), int(self.arrival[i])


@dataclass(frozen=True)
class _Lowered:
    """Boarding labels lowered in one round (parallel arrays): target (stop or slot), the new time, the
    parent's kind (0 the origin, 1 a generic arrival at stop ``ref``, 2 an arrival at slot ``ref``)."""

    targets: IntArray
    times: IntArray
    kinds: IntArray
    refs: IntArray


@dataclass
class _RuleState:
    """What the search with transfer rules keeps besides the rounds' arrival labels."""

    beta: IntArray  # per stop: earliest generic boarding
    theta: IntArray  # per special-to slot: earliest boarding
    rho_gen: IntArray  # per stop: earliest generic ride arrival so far
    rho_sp: IntArray  # per special-from slot: earliest arrival so far
    beta_hist: list[_Lowered | None] = field(default_factory=list)  # per round
    theta_hist: list[_Lowered | None] = field(default_factory=list)
    gen: list[_Arrivals | None] = field(default_factory=list)  # per round: generic ride arrivals
    special: list[_Arrivals | None] = field(default_factory=list)  # per round: at special-from slots

    def parent(self, slot_target: bool, key: int, before: int) -> tuple[int, int, int, int]:
        """(round, time, kind, ref) of the label ``key`` as it was at the end of round ``before - 1``."""
        hist = self.theta_hist if slot_target else self.beta_hist
        for r in range(before - 1, -1, -1):
            lowered = hist[r]
            if lowered is None:
                continue
            found = np.nonzero(lowered.targets == key)[0]
            if len(found):
                i = int(found[0])
                return r, int(lowered.times[i]), int(lowered.kinds[i]), int(lowered.refs[i])
        raise AssertionError("a boarding without a label")  # pragma: no cover - the search sets one


def _search(
    tt: Timetable, sources: Sequence[int], start: int, targets: Sequence[int], max_rides: int
) -> tuple[list[_Round], _RuleState | None]:
    pre = _prepare(tt)
    if pre.rules is not None:
        return _search_rules(tt, pre, pre.rules, sources, start, targets, max_rides)
    return _search_plain(tt, pre, sources, start, targets, max_rides), None


def _search_plain(
    tt: Timetable,
    pre: _Prepared,
    sources: Sequence[int],
    start: int,
    targets: Sequence[int],
    max_rides: int,
) -> list[_Round]:
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
    if len(tt.slot_stop) == 0:
        return np.zeros(0, dtype=np.int64)
    slots, tj, arrival, board_local = _scan(tt, pre, prev[tt.slot_stop])
    if not len(slots):
        return np.zeros(0, dtype=np.int64)
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


def _scan(tt: Timetable, pre: _Prepared, tau_slot: IntArray) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Given the earliest boarding time at every slot: the slots reached by a ride, the pattern's trip
    (index within the pattern) one sits in there, its arrival, and per slot the boarding slot (local)."""
    n_slots = len(tt.slot_stop)
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
    tj = trip_j[slots]
    arrival = tt.arr[tt.time_start[slots] + tj]
    return slots, tj, arrival, board_local


def _search_rules(
    tt: Timetable,
    pre: _Prepared,
    rules: _Rules,
    sources: Sequence[int],
    start: int,
    targets: Sequence[int],
    max_rides: int,
) -> tuple[list[_Round], _RuleState]:
    """RAPTOR with transfers.txt: arrivals (``tau``, for the destination) and boarding labels (``beta``
    per stop, ``theta`` per special slot) are kept apart, because changing takes the rules' time while
    arriving does not."""
    n, n_slots = tt.n_stops, len(tt.slot_stop)
    target_arr = np.asarray(list(targets), dtype=np.int64)
    tau = np.full(n, INF, dtype=np.int64)
    first = _Round(tau)
    for x in sources:
        tau[x] = start
    src = np.asarray(sorted(set(sources)), dtype=np.int64)
    _walk(tt, first, src, np.full(len(src), start, dtype=np.int64), target_arr)
    state = _RuleState(
        beta=tau.copy(),
        theta=np.full(n_slots, INF, dtype=np.int64),
        rho_gen=np.full(n, INF, dtype=np.int64),
        rho_sp=np.full(n_slots, INF, dtype=np.int64),
        gen=[None],
        special=[None],
    )
    # round 0: the origin and the walks from it, for every kind of boarding
    reached = np.nonzero(tau < INF)[0]
    origin = np.array([first.walk[x][0] if x in first.walk else x for x in reached.tolist()], dtype=np.int64)
    state.beta_hist.append(_Lowered(reached, tau[reached], np.zeros(len(reached), dtype=np.int64), origin))
    at_origin = np.nonzero(rules.sp_to & (tau[tt.slot_stop] < INF))[0]
    state.theta[at_origin] = tau[tt.slot_stop[at_origin]]
    where = np.searchsorted(reached, tt.slot_stop[at_origin])
    state.theta_hist.append(
        _Lowered(at_origin, state.theta[at_origin], np.zeros(len(at_origin), dtype=np.int64), origin[where])
    )
    rounds = [first]
    for k in range(1, max_rides + 1):
        current = _Round(rounds[-1].tau.copy())
        rounds.append(current)
        state.gen.append(None)
        state.special.append(None)
        state.beta_hist.append(None)
        state.theta_hist.append(None)
        board = np.where(rules.sp_to, state.theta, state.beta[tt.slot_stop])
        slots, tj, arrival, board_local = _scan(tt, pre, board)
        if not len(slots):
            break
        stops = tt.slot_stop[slots]
        patterns = tt.slot_pattern[slots]
        trips = tt.trip_start[patterns] + tj
        boards = tt.slot_start[patterns] + board_local[slots]
        bound = current.tau[target_arr].min(initial=INF) if len(target_arr) else INF
        # arrivals: the destination and the walks to it
        idx = _first_per(stops, arrival, (arrival < current.tau[stops]) & (arrival < bound))
        current.tau[stops[idx]] = arrival[idx]
        for x, g, bo, sl, t in zip(
            stops[idx].tolist(),
            trips[idx].tolist(),
            boards[idx].tolist(),
            slots[idx].tolist(),
            arrival[idx].tolist(),
            strict=True,
        ):
            current.ride[x] = (g, bo, sl, t)
        improved = stops[idx]
        # candidates for the boarding labels: (target, time, kind, ref), per stop (beta) and slot (theta)
        b_parts: list[tuple[IntArray, IntArray, int, IntArray]] = []
        t_parts: list[tuple[IntArray, IntArray, int, IntArray]] = []
        # generic arrivals: change at the stop, over xfer to other stops, or to special slots
        idx = _first_per(stops, arrival, ~rules.sp_from[slots] & (arrival < bound))
        idx = idx[arrival[idx] < state.rho_gen[stops[idx]]]
        if len(idx):
            g_stops, g_arr = stops[idx], arrival[idx]
            state.rho_gen[g_stops] = g_arr
            state.gen[k] = _Arrivals(g_stops, trips[idx], boards[idx], slots[idx], g_arr)
            same = rules.change[g_stops] < INF
            b_parts.append((g_stops[same], (g_arr + rules.change[g_stops])[same], 1, g_stops[same]))
            owner, e = _expand(rules.xfer_start, g_stops)
            b_parts.append((rules.xfer_to[e], g_arr[owner] + rules.xfer_time[e], 1, g_stops[owner]))
            owner, e = _expand(rules.g2s_start, g_stops)
            t_parts.append((rules.g2s_slot[e], g_arr[owner] + rules.g2s_time[e], 1, g_stops[owner]))
        # arrivals at special-from slots: their own edges
        idx = np.nonzero(rules.sp_from[slots] & (arrival < bound) & (arrival < state.rho_sp[slots]))[0]
        if len(idx):
            f_slots, f_arr = slots[idx], arrival[idx]
            state.rho_sp[f_slots] = f_arr
            state.special[k] = _Arrivals(f_slots, trips[idx], boards[idx], f_slots, f_arr)
            owner, e = _expand(rules.f_start, f_slots)
            to, t, ref, kind = (
                rules.f_target[e],
                f_arr[owner] + rules.f_time[e],
                f_slots[owner],
                rules.f_to_slot[e],
            )
            b_parts.append((to[~kind], t[~kind], 2, ref[~kind]))
            t_parts.append((to[kind], t[kind], 2, ref[kind]))
        b_low = _lower(state.beta, b_parts, bound)
        t_low = _lower(state.theta, t_parts, bound)
        state.beta_hist[k], state.theta_hist[k] = b_low, t_low
        if len(improved):
            _walk(tt, current, improved, current.tau[improved], target_arr)
        if b_low is None and t_low is None:
            break
    return rounds, state


def _first_per(keys: IntArray, values: IntArray, mask: BoolArray) -> IntArray:
    """Indexes (where ``mask``) of the smallest value per key."""
    idx = np.nonzero(mask)[0]
    if len(idx) <= 1:
        return idx
    order = idx[np.lexsort((values[idx], keys[idx]))]
    head = np.ones(len(order), dtype=np.bool_)
    head[1:] = keys[order][1:] != keys[order][:-1]
    out: IntArray = order[head]
    return out


def _ranks(counts: IntArray) -> IntArray:
    """0, 1, …, c-1 for each count c, concatenated."""
    total = int(counts.sum())
    out: IntArray = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return out


def _expand(start: IntArray, sources: IntArray) -> tuple[IntArray, IntArray]:
    """The CSR edges of ``sources``: (index into sources, edge index)."""
    counts = start[sources + 1] - start[sources]
    owner = np.repeat(np.arange(len(sources), dtype=np.int64), counts)
    edges = start[sources][owner] + _ranks(counts)
    return owner, edges


def _lower(
    values: IntArray,
    parts: list[tuple[IntArray, IntArray, int, IntArray]],
    bound: np.int64 | int,
) -> _Lowered | None:
    """Lower ``values`` at the candidates' targets to their times where earlier (and before ``bound``):
    what was lowered, with the parents, or None."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return None
    if len(parts) == 1:
        targets, times, kind, refs = parts[0]
        kinds = np.full(len(targets), kind, dtype=np.int64)
    else:
        targets = np.concatenate([p[0] for p in parts])
        times = np.concatenate([p[1] for p in parts])
        kinds = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int64) for p in parts])
        refs = np.concatenate([p[3] for p in parts])
    idx = _first_per(targets, times, (times < bound) & (times < values[targets]))
    if not len(idx):
        return None
    values[targets[idx]] = times[idx]
    return _Lowered(targets[idx], times[idx], kinds[idx], refs[idx])


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
    base = base_trip_id(tt.trip_ids[trip])
    pickup = tt.stop_notes.get((base, stops[0]), (0, 0))[0] if tt.stop_notes else 0
    drop_off = tt.stop_notes.get((base, stops[-1]), (0, 0))[1] if tt.stop_notes else 0
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
        pickup_type=pickup if pickup in (2, 3) else 0,
        drop_off_type=drop_off if drop_off in (2, 3) else 0,
    )


def _reconstruct_rules(tt: Timetable, rounds: list[_Round], state: _RuleState, k: int, stop: int) -> Journey:
    """Back from the arrival label at ``stop``; each boarding by the parent recorded for it."""
    rules = _prepare(tt).rules
    assert rules is not None
    legs: list[Leg] = []
    r, s = k, stop
    while r > 0 and s not in rounds[r].ride and s not in rounds[r].walk:
        r -= 1
    label = rounds[r]
    ride: Ride | None = None
    if s in label.walk:
        u, d, a = label.walk[s]
        legs.append(Leg("walk", u, s, d, a))
        if r > 0:
            ride = label.ride[u]
    elif r > 0:
        ride = label.ride[s]
    rides = 0
    while ride is not None:
        trip, board, alight, _arrival = ride
        legs.append(_ride_leg(tt, trip, board, alight))
        rides += 1
        at = int(tt.slot_stop[board])
        special = bool(rules.sp_to[board])
        r, time, kind, ref = state.parent(special, board if special else at, r)
        if kind == 0:
            if ref != at:
                legs.append(Leg("walk", ref, at, int(rounds[0].tau[ref]), time))
            ride = None
            continue
        found = state.gen[r] if kind == 1 else state.special[r]
        assert found is not None
        ride = found.ride(ref)
        frm = int(tt.slot_stop[ride[2]])
        if frm != at:
            legs.append(Leg("walk", frm, at, ride[3], time))
    legs.reverse()
    return Journey(tuple(legs), rides)


def _pareto(
    tt: Timetable, rounds: list[_Round], targets: Sequence[int], state: _RuleState | None = None
) -> list[Journey]:
    out: list[Journey] = []
    best = int(INF)
    for k, label in enumerate(rounds):
        values = label.tau[list(targets)]
        i = int(np.argmin(values))
        if int(values[i]) < best:
            best = int(values[i])
            if state is None:
                out.append(_reconstruct(tt, rounds, k, int(targets[i])))
            else:
                out.append(_reconstruct_rules(tt, rounds, state, k, int(targets[i])))
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
    rounds, state = _search(tt, sources, start, targets, max_rides)
    return [_tidy(j) for j in _pareto(tt, rounds, targets, state)]


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
    rounds, state = _search(rev, targets, -end, sources, max_rides)
    return [_tidy(_forward(j)) for j in _pareto(rev, rounds, sources, state)]


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
                pickup_type=leg.drop_off_type,
                drop_off_type=leg.pickup_type,
            )
        )
    return Journey(tuple(legs), journey.rides)


def summary(journeys: Sequence[Journey]) -> list[tuple[int, int, int]]:
    """(rides, departure, arrival) of each journey: what the tests compare."""
    return [(j.rides, j.departure, j.arrival) for j in journeys]


__all__ = ["MAX_RIDES", "Journey", "Leg", "arrive_by", "depart_at", "summary"]
