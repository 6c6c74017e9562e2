"""A simple, obviously correct reference search for testing RAPTOR: Dijkstra in the time-expanded graph.

The graph has one node per event: a trip departing from or arriving at a stop, and per stop chains of
"waiting" nodes, one per departure from it, linked in time order. Edges: wait (next departure at the
stop), board (wait node → its departure, one more ride), travel (departure → arrival at the next stop),
stay seated (arrival → departure of the same trip), alight (arrival → having arrived at the stop), walk
(being at a stop → being at another stop, any number of walks in a row, over the *direct* walks if given:
so that the closure RAPTOR relies on is tested too). Labels are (node, rides) with the time as the key,
so one run gives the earliest arrival for every number of rides; nothing is pruned or vectorised.

Changing from one ride to the next follows ``transfers.txt`` (:class:`~stadtkern.mobility.timetable.
TransferRules`) from the arrival node itself, so the arriving trip is known: to the departures at the same
stop, at every stop within walking distance (the shortest chain of direct walks) and at every stop a rule
names, each after the time the rule (or the default) gives for that pair of trips. The origin's walks and
boardings and the walks to the destination are plain walks, no change.

Arrive-by is answered without any reversal: the latest departure with at most ``k`` rides is the largest
``t`` with earliest-arrival(t) <= deadline, found by bisection (earliest arrival never gets earlier when
leaving later).
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Mapping, Sequence

from stadtkern.mobility.timetable import Timetable

Walks = Mapping[int, Sequence[tuple[int, int]]]
UNREACHED = 2**40
_START, _WAIT_ALL, _WAIT_GEN, _DEP, _ARR, _DONE = 0, 1, 2, 3, 4, 5

Chain = list[tuple[int, int, int]]  # sorted (departure, trip, index)


class Reference:
    def __init__(self, tt: Timetable, direct_walks: Mapping[tuple[int, int], int] | None = None) -> None:
        self.tt = tt
        self.rules = tt.rules
        self.walks: dict[int, list[tuple[int, int]]] = {}
        if direct_walks is None:
            for s in range(tt.n_stops):
                self.walks[s] = tt.walks_from(s)
        else:
            for (a, b), w in direct_walks.items():
                self.walks.setdefault(a, []).append((b, w))
        self.trips: list[tuple[list[int], list[int], list[int], list[bool], list[bool]]] = [
            tt.trip_times(g) for g in range(tt.n_trips)
        ]
        every: dict[int, Chain] = {}  # boarding from the origin: every departure
        generic: dict[int, Chain] = {}  # changing: departures of trips no narrowed rule names there
        self.named: dict[int, Chain] = {}  # changing: the others, one by one
        for g, (stops, _arr, dep, pickup, _drop) in enumerate(self.trips):
            for i in range(len(stops) - 1):
                if pickup[i]:
                    event = (dep[i], g, i)
                    every.setdefault(stops[i], []).append(event)
                    if self.rules.to_special(stops[i], tt.trip_ids[g], tt.trip_route[g]):
                        self.named.setdefault(stops[i], []).append(event)
                    else:
                        generic.setdefault(stops[i], []).append(event)
        self.chains = [{s: sorted(c) for s, c in chains.items()} for chains in (every, generic)]
        self.chain_times = [{s: [e[0] for e in c] for s, c in chains.items()} for chains in self.chains]
        self._dist: dict[int, dict[int, int]] = {}

    def dist(self, source: int) -> dict[int, int]:
        """Shortest walking time from ``source`` to every stop reachable on foot (Dijkstra)."""
        found = self._dist.get(source)
        if found is not None:
            return found
        best = {source: 0}
        heap = [(0, source)]
        while heap:
            d, u = heapq.heappop(heap)
            if d > best[u]:
                continue
            for v, w in self.walks.get(u, ()):
                if d + w < best.get(v, UNREACHED):
                    best[v] = d + w
                    heapq.heappush(heap, (d + w, v))
        best.pop(source)
        self._dist[source] = best
        return best

    def earliest(self, sources: Sequence[int], start: int, max_rides: int) -> list[dict[int, int]]:
        """Per number of rides ``k`` (exactly ``k``): earliest arrival time at every stop reached."""
        tt, rules = self.tt, self.rules
        at: list[dict[int, int]] = [{} for _ in range(max_rides + 1)]
        # nodes: (START, stop, 0, 0), (WAIT_*, stop, position, k), (DEP|ARR, trip, index, k), (DONE, stop, 0, k)
        done: set[tuple[int, int, int, int]] = set()
        heap: list[tuple[int, int, tuple[int, int, int, int]]] = []
        counter = 0

        def push(time: int, node: tuple[int, int, int, int]) -> None:
            nonlocal counter
            counter += 1
            heapq.heappush(heap, (time, counter, node))

        def wait(which: int, stop: int, time: int, k: int) -> None:
            times = self.chain_times[which].get(stop)
            if times:
                p = bisect.bisect_left(times, time)
                if p < len(times):
                    push(times[p], (_WAIT_ALL if which == 0 else _WAIT_GEN, stop, p, k))

        for s in sources:
            push(start, (_START, s, 0, 0))
        while heap:
            time, _c, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            kind, a, b, k = node
            if kind in (_START, _DONE):
                if a not in at[k]:
                    at[k][a] = time
                for s2, w in self.walks.get(a, ()):
                    push(time + w, (kind, s2, 0, k))
                if kind == _START:
                    wait(0, a, time, k)
            elif kind in (_WAIT_ALL, _WAIT_GEN):
                chain = self.chains[0 if kind == _WAIT_ALL else 1][a]
                if b + 1 < len(chain):
                    push(chain[b + 1][0], (kind, a, b + 1, k))
                if k < max_rides:
                    _t, g, i = chain[b]
                    push(time, (_DEP, g, i, k + 1))
            elif kind == _DEP:
                arr = self.trips[a][1]
                push(arr[b + 1], (_ARR, a, b + 1, k))
            else:
                stops, _arr, dep, _pick, drop = self.trips[a]
                if b + 1 < len(stops):
                    push(dep[b], (_DEP, a, b, k))
                if not drop[b]:
                    continue
                s = stops[b]
                push(time, (_DONE, s, 0, k))
                if k >= max_rides:
                    continue
                trip_id, route = tt.trip_ids[a], tt.trip_route[a]
                special = rules.from_special(s, trip_id, route)
                ft, fr = (trip_id, route) if special else (None, None)
                near = self.dist(s)
                for s2 in {s} | set(near) | rules.targets.get(s, set()):
                    walk = near.get(s2)
                    r = rules.time(s, s2, walk, ft, fr)
                    if r is not None:
                        wait(1, s2, time + r, k)
                    for d2, g2, i2 in self.named.get(s2, ()):
                        r = rules.time(s, s2, walk, ft, fr, tt.trip_ids[g2], tt.trip_route[g2])
                        if r is not None and d2 >= time + r:
                            push(d2, (_DEP, g2, i2, k + 1))
        return at

    def earliest_arrivals(
        self, sources: Sequence[int], targets: Sequence[int], start: int, max_rides: int
    ) -> list[int]:
        """Per ``k``: the earliest arrival at a target with at most ``k`` rides (UNREACHED if none)."""
        at = self.earliest(sources, start, max_rides)
        out = []
        best = UNREACHED
        for k in range(max_rides + 1):
            for t in targets:
                best = min(best, at[k].get(t, UNREACHED))
            out.append(best)
        return out

    def pareto_depart(
        self, sources: Sequence[int], targets: Sequence[int], start: int, max_rides: int
    ) -> list[tuple[int, int]]:
        """(rides, arrival) of the Pareto set: each strictly earlier than all with fewer rides."""
        if set(sources) & set(targets):
            return []
        out = []
        best = UNREACHED
        for k, value in enumerate(self.earliest_arrivals(sources, targets, start, max_rides)):
            if value < best:
                out.append((k, value))
                best = value
        return out

    def pareto_arrive(
        self, sources: Sequence[int], targets: Sequence[int], end: int, max_rides: int, horizon: int
    ) -> list[tuple[int, int]]:
        """(rides, latest departure) of the Pareto set for arriving by ``end``, searched from ``horizon``."""
        if set(sources) & set(targets):
            return []
        out = []
        best = -UNREACHED
        for k in range(max_rides + 1):

            def fits(t: int, k: int = k) -> bool:
                return self.earliest_arrivals(sources, targets, t, k)[k] <= end

            if not fits(horizon):
                continue
            lo, hi = horizon, end  # fits(lo) holds; find the largest t that fits
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if fits(mid):
                    lo = mid
                else:
                    hi = mid - 1
            if lo > best:
                out.append((k, lo))
                best = lo
        return out
