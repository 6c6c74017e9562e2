"""A simple, obviously correct reference search for testing RAPTOR: Dijkstra in the time-expanded graph.

The graph has one node per event: a trip departing from or arriving at a stop, and per stop a chain of
"waiting" nodes, one per departure from it, linked in time order. Edges: wait (next departure at the
stop), board (wait node → its departure, one more ride), travel (departure → arrival at the next stop),
stay seated (arrival → departure of the same trip), alight (arrival → being at the stop), walk (being at
a stop → being at another stop, any number of walks in a row, over the *direct* walks if given: so that
the closure RAPTOR relies on is tested too). Labels are (node, rides) with the time as the key, so one
run gives the earliest arrival for every number of rides; nothing is pruned or vectorised.

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
_AT, _WAIT, _DEP, _ARR = 0, 1, 2, 3


class Reference:
    def __init__(self, tt: Timetable, direct_walks: Mapping[tuple[int, int], int] | None = None) -> None:
        self.tt = tt
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
        chains: dict[int, list[tuple[int, int, int]]] = {}  # stop -> sorted (time, trip, index)
        for g, (stops, _arr, dep, pickup, _drop) in enumerate(self.trips):
            for i in range(len(stops) - 1):
                if pickup[i]:
                    chains.setdefault(stops[i], []).append((dep[i], g, i))
        self.chains = {s: sorted(c) for s, c in chains.items()}
        self.chain_times = {s: [e[0] for e in c] for s, c in self.chains.items()}

    def earliest(self, sources: Sequence[int], start: int, max_rides: int) -> list[dict[int, int]]:
        """Per number of rides ``k`` (exactly ``k``): earliest arrival time at every stop reached."""
        at: list[dict[int, int]] = [{} for _ in range(max_rides + 1)]
        # nodes: (AT, stop, 0, k), (WAIT, stop, position, k), (DEP, trip, index, k), (ARR, trip, index, k)
        done: set[tuple[int, int, int, int]] = set()
        heap: list[tuple[int, int, tuple[int, int, int, int]]] = []
        counter = 0

        def push(time: int, node: tuple[int, int, int, int]) -> None:
            nonlocal counter
            counter += 1
            heapq.heappush(heap, (time, counter, node))

        for s in sources:
            push(start, (_AT, s, 0, 0))
        while heap:
            time, _c, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            kind, a, b, k = node
            if kind == _AT:
                if a not in at[k]:
                    at[k][a] = time
                for s2, w in self.walks.get(a, ()):
                    push(time + w, (_AT, s2, 0, k))
                times = self.chain_times.get(a)
                if times:
                    p = bisect.bisect_left(times, time)
                    if p < len(times):
                        push(times[p], (_WAIT, a, p, k))
            elif kind == _WAIT:
                chain = self.chains[a]
                if b + 1 < len(chain):
                    push(chain[b + 1][0], (_WAIT, a, b + 1, k))
                if k < max_rides:
                    _t, g, i = chain[b]
                    push(time, (_DEP, g, i, k + 1))
            elif kind == _DEP:
                arr = self.trips[a][1]
                push(arr[b + 1], (_ARR, a, b + 1, k))
            else:
                stops, _arr, dep, _pick, drop = self.trips[a]
                if drop[b]:
                    push(time, (_AT, stops[b], 0, k))
                if b + 1 < len(stops):
                    push(dep[b], (_DEP, a, b, k))
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
