"""RAPTOR against the time-expanded Dijkstra reference: identical results on many random queries.

Random synthetic timetables (stops on a plane, lines with trips, frequencies, overtaking trips, pick-up
and drop-off rules, walks), the Google sample feed (parsed here with the csv module), arrive-by, the
Pareto sets, the footpath closure and realtime delays and cancellations.
"""

from __future__ import annotations

import csv
import itertools
import random
from datetime import date

import pytest

from stadtkern.mobility import raptor
from stadtkern.mobility.reference import UNREACHED, Reference
from stadtkern.mobility.timetable import (
    CalendarDateRow,
    CalendarRow,
    FrequencyRow,
    Route,
    Stop,
    StopUpdate,
    Timetable,
    Transfer,
    Trip,
    TripUpdate,
    active_services,
    apply_realtime,
    base_footpaths,
    build_timetable,
    close_footpaths,
    expand_frequencies,
)
from tests.mobility.gtfs_support import FEEDS

GOOD_FEED = FEEDS / "good_feed"
MAX_RIDES = 5


# --- random timetables ----------------------------------------------------------------------------


def random_network(
    seed: int, n_stops: int = 40, n_lines: int = 10, *, rules: bool = False
) -> tuple[Timetable, dict[tuple[int, int], int], list[Trip]]:
    """A random timetable; with ``rules`` also random transfers.txt rows (see :func:`random_rules`)."""
    rng = random.Random(seed)
    # stops on a ~3 km square, some in clusters so that walks chain (a → b → c)
    stops: list[Stop] = []
    for i in range(n_stops):
        if i and rng.random() < 0.3:
            base = stops[rng.randrange(len(stops))]
            lat = base.lat + rng.uniform(-0.002, 0.002)
            lon = base.lon + rng.uniform(-0.003, 0.003)
        else:
            lat, lon = 51.40 + rng.uniform(0, 0.03), 6.75 + rng.uniform(0, 0.045)
        stops.append(Stop(f"S{i}", f"Stop {i}", lat, lon, platform_code=str(i % 3 + 1)))
    routes = {f"L{n}": Route(f"L{n}", str(n)) for n in range(n_lines)}
    trips: list[Trip] = []
    frequencies: list[FrequencyRow] = []
    for n in range(n_lines):
        length = rng.randint(3, 9)
        line = rng.sample(range(n_stops), length)
        if rng.random() < 0.15:  # a loop that visits a stop twice
            line.append(line[0])
        hops = [rng.randint(60, 600) for _ in line[1:]]
        dwell = [rng.choice([0, 0, 30, 60]) for _ in line]
        pickup = [rng.random() > 0.1 for _ in line]
        dropoff = [rng.random() > 0.1 for _ in line]
        for direction, stops_of in ((0, line), (1, line[::-1])):
            h = hops if direction == 0 else hops[::-1]
            if rng.random() < 0.3:  # a frequency-based template trip
                trips.append(_trip(f"F{n}-{direction}", f"L{n}", stops_of, 0, h, dwell, pickup, dropoff))
                start = rng.randint(6 * 3600, 8 * 3600)
                frequencies.append(
                    FrequencyRow(f"F{n}-{direction}", start, start + rng.randint(3600, 7200), 600)
                )
                continue
            t = rng.randint(6 * 3600, 7 * 3600)
            for k in range(rng.randint(2, 12)):
                factor = rng.choice([1.0, 1.0, 1.0, 0.6, 1.5])  # some express and slow runs: overtaking
                hs = [int(x * factor) for x in h]
                trips.append(_trip(f"T{n}-{direction}-{k}", f"L{n}", stops_of, t, hs, dwell, pickup, dropoff))
                t += rng.randint(120, 1500)
    trips = expand_frequencies(trips, frequencies)
    direct = base_footpaths(stops, max_walk_m=350)
    # one-way "transfers.txt" walks too
    for _ in range(3):
        a, b = rng.sample(range(n_stops), 2)
        direct[(a, b)] = rng.randint(60, 600)
    transfers = random_rules(random.Random(seed * 7 + 1), n_stops, trips, direct) if rules else []
    tt = build_timetable(stops, routes, trips, transfers, footpaths=direct, day=date(2026, 11, 17))
    return tt, direct, trips


def random_rules(
    rng: random.Random, n_stops: int, trips: list[Trip], direct: dict[tuple[int, int], int]
) -> list[Transfer]:
    """Minimum change times at stops, stops where one cannot change, timed and forbidden changes
    between trips and routes (at one stop and between neighbouring stops), longer and shorter times."""
    out: list[Transfer] = []
    for s in range(n_stops):
        roll = rng.random()
        if roll < 0.35:
            out.append(Transfer(s, s, 2, rng.choice([60, 120, 180, 300, 600])))
        elif roll < 0.42:
            out.append(Transfer(s, s, 3))
        elif roll < 0.47:
            out.append(Transfer(s, s, 1))
    pairs = list(direct)
    for x, y in rng.sample(pairs, min(4, len(pairs))):  # stop-to-stop rules between two stops
        out.append(Transfer(x, y, rng.choice([1, 2, 3]), rng.choice([None, 30, 400])))
    calls: dict[int, list[tuple[Trip, int]]] = {}
    for trip in trips:
        for i, s in enumerate(trip.stops):
            calls.setdefault(s, []).append((trip, i))
    shared = [s for s, c in calls.items() if len({t.trip_id for t, _i in c}) > 1]
    for _ in range(25):
        s = rng.choice(shared)
        (a, i), (b, j) = rng.sample(calls[s], 2)
        s2 = s
        if rng.random() < 0.25:  # between neighbouring stops, or far apart (a rule makes it possible)
            s2 = rng.choice([y for (x, y) in direct if x == s] or [rng.randrange(n_stops)])
            b, j = rng.choice(calls.get(s2) or [(b, j)])
            s2 = b.stops[j]
        kind = rng.choice([1, 1, 2, 3, 0])
        minimum = rng.choice([0, 30, 900]) if kind == 2 else None
        fa, fb = a.trip_id.split("@")[0], b.trip_id.split("@")[0]
        scope = rng.choice(["trips", "trips", "routes", "from_trip", "to_route", "trip_route"])
        out.append(
            Transfer(
                s,
                s2,
                kind,
                minimum,
                from_route=a.route_id if scope in ("routes",) else None,
                to_route=b.route_id if scope in ("routes", "to_route", "trip_route") else None,
                from_trip=fa if scope in ("trips", "from_trip", "trip_route") else None,
                to_trip=fb if scope == "trips" else None,
            )
        )
    for _ in range(40):  # connections that are tight: where a rule decides
        s = rng.choice(shared)
        a, i = rng.choice(calls[s])
        close = [
            (b, j)
            for b, j in calls[s]
            if b.trip_id != a.trip_id and 0 <= b.dep[j] - a.arr[i] <= 600 and j < len(b.stops) - 1
        ]
        if close:
            b, j = rng.choice(close)
            out.append(
                Transfer(
                    s,
                    s,
                    rng.choice([1, 1, 3, 2]),
                    rng.choice([0, 200]),
                    from_trip=a.trip_id.split("@")[0],
                    to_trip=b.trip_id.split("@")[0] if rng.random() < 0.7 else None,
                    to_route=b.route_id,
                )
            )
    return out


def _trip(
    trip_id: str,
    route: str,
    stops: list[int],
    start: int,
    hops: list[int],
    dwell: list[int],
    pickup: list[bool],
    dropoff: list[bool],
) -> Trip:
    arr, dep = [], []
    t = start
    for i in range(len(stops)):
        if i:
            t += hops[i - 1]
        arr.append(t)
        t += dwell[i] if 0 < i < len(stops) - 1 else 0
        dep.append(t)
    return Trip(trip_id, route, f"nach {stops[-1]}", list(stops), arr, dep, list(pickup), list(dropoff))


def _check_depart(tt: Timetable, ref: Reference, rng: random.Random, queries: int) -> int:
    found = 0
    for _ in range(queries):
        a, b = rng.sample(range(tt.n_stops), 2)
        start = rng.randint(5 * 3600 + 1800, 9 * 3600)
        got = raptor.depart_at(tt, [a], [b], start, max_rides=MAX_RIDES)
        want = ref.pareto_depart([a], [b], start, MAX_RIDES)
        assert [(j.rides, j.arrival) for j in got] == want, (a, b, start)
        for journey in got:
            _check_legs(tt, journey, a, b)
            assert journey.departure >= start
        found += len(got)
    return found


def _check_arrive(tt: Timetable, ref: Reference, rng: random.Random, queries: int) -> int:
    found = 0
    for _ in range(queries):
        a, b = rng.sample(range(tt.n_stops), 2)
        end = rng.randint(6 * 3600 + 1800, 10 * 3600)
        got = raptor.arrive_by(tt, [a], [b], end, max_rides=MAX_RIDES)
        want = ref.pareto_arrive([a], [b], end, MAX_RIDES, horizon=end - 6 * 3600)
        assert [(j.rides, j.departure) for j in got] == want, (a, b, end)
        for journey in got:
            _check_legs(tt, journey, a, b)
            assert journey.arrival <= end
        found += len(got)
    return found


def _check_legs(tt: Timetable, journey: raptor.Journey, a: int, b: int) -> None:
    """Legs connect, in time order, rides exist in the timetable as stated, walks are real walks."""
    assert journey.legs[0].from_stop == a
    assert journey.legs[-1].to_stop == b
    assert sum(leg.kind == "ride" for leg in journey.legs) == journey.rides
    walks = {(x, y): w for x in range(tt.n_stops) for y, w in tt.walks_from(x)}
    for leg, after in zip(journey.legs, journey.legs[1:], strict=False):
        assert leg.to_stop == after.from_stop
        assert leg.arrival <= after.departure
        assert not (leg.kind == "walk" and after.kind == "walk")
    rides = [leg for leg in journey.legs if leg.kind == "ride"]
    for r1, r2 in itertools.pairwise(rides):  # each change as transfers.txt allows it
        rules = tt.rules
        frm = (
            (r1.trip_id, r1.route_id)
            if rules.from_special(r1.to_stop, r1.trip_id, r1.route_id)
            else (None, None)
        )
        to = (
            (r2.trip_id, r2.route_id)
            if rules.to_special(r2.from_stop, r2.trip_id, r2.route_id)
            else (None, None)
        )
        need = rules.time(r1.to_stop, r2.from_stop, walks.get((r1.to_stop, r2.from_stop)), *frm, *to)
        assert need is not None
        assert r1.arrival + need <= r2.departure
    for i, leg in enumerate(journey.legs):
        if leg.kind == "walk":
            between = 0 < i < len(journey.legs) - 1
            if not (between and tt.transfers):
                assert leg.arrival - leg.departure == walks[(leg.from_stop, leg.to_stop)]
            continue
        trip = tt.trip_ids.index(leg.trip_id)
        stops, arr, dep, pickup, dropoff = tt.trip_times(trip)
        i = next(i for i in range(len(stops)) if stops[i] == leg.from_stop and dep[i] == leg.departure)
        k = next(k for k in range(i + 1, len(stops)) if stops[k] == leg.to_stop and arr[k] == leg.arrival)
        assert pickup[i]
        assert dropoff[k]
        assert [s for s, _a, _d in leg.stops] == stops[i : k + 1]


@pytest.mark.parametrize("seed", range(12))
def test_random_networks_depart_at_match_the_reference(seed: int) -> None:
    tt, direct, _trips = random_network(seed)
    # the reference walks only the direct walks, any number in a row: checks the closure as well
    ref = Reference(tt, direct)
    rng = random.Random(1000 + seed)
    assert _check_depart(tt, ref, rng, 40) > 0


@pytest.mark.parametrize("seed", range(12))
def test_random_networks_with_transfer_rules_match_the_reference(seed: int) -> None:
    tt, direct, _trips = random_network(seed, rules=True)
    assert tt.transfers
    ref = Reference(tt, direct)
    rng = random.Random(3000 + seed)
    assert _check_depart(tt, ref, rng, 40) > 0


@pytest.mark.parametrize("seed", range(4))
def test_random_networks_with_transfer_rules_arrive_by_match_the_reference(seed: int) -> None:
    tt, direct, _trips = random_network(seed, rules=True)
    ref = Reference(tt, direct)
    rng = random.Random(4000 + seed)
    assert _check_arrive(tt, ref, rng, 10) > 0


@pytest.mark.parametrize("seed", range(6))
def test_random_networks_arrive_by_match_the_reference(seed: int) -> None:
    tt, direct, _trips = random_network(seed)
    ref = Reference(tt, direct)
    rng = random.Random(2000 + seed)
    assert _check_arrive(tt, ref, rng, 12) > 0


def test_pareto_set_has_one_journey_per_ride_count_that_is_faster() -> None:
    # A → C directly at 10:00 arriving 11:00; A → B → C with a change arriving 10:30
    stops = [Stop(s, s, 51.0 + i, 6.0) for i, s in enumerate("ABC")]  # far apart: no walks
    routes = {"1": Route("1", "1"), "2": Route("2", "2"), "3": Route("3", "3")}
    trips = [
        Trip("slow", "1", "C", [0, 2], [36000, 39600], [36000, 39600]),
        Trip("ab", "2", "B", [0, 1], [36000, 36600], [36000, 36600]),
        Trip("bc", "3", "C", [1, 2], [36900, 37800], [36900, 37800]),
    ]
    tt = build_timetable(stops, routes, trips)
    got = raptor.depart_at(tt, [0], [2], 35000)
    assert raptor.summary(got) == [(1, 36000, 39600), (2, 36000, 37800)]
    assert got[1].transfers == 1
    assert [leg.trip_id for leg in got[1].legs] == ["ab", "bc"]
    # arrive by 11:00: the direct trip leaves as late as the change; one ride wins, nothing else listed
    back = raptor.arrive_by(tt, [0], [2], 39600)
    assert raptor.summary(back) == [(1, 36000, 39600)]
    # arrive by 10:40: only with the change
    assert raptor.summary(raptor.arrive_by(tt, [0], [2], 38400)) == [(2, 36000, 37800)]


def test_footpaths_are_transitively_closed() -> None:
    # a chain of stops 300 m apart: 0–1 and 1–2 are walks, 0–2 (600 m) only through the closure
    stops = [Stop(f"S{i}", f"S{i}", 51.4 + i * 0.0027, 6.76) for i in range(3)]
    direct = base_footpaths(stops, max_walk_m=400)
    assert (0, 2) not in direct
    assert (0, 1) in direct
    assert (1, 2) in direct
    closed = close_footpaths(3, direct)
    assert closed[(0, 2)] == direct[(0, 1)] + direct[(1, 2)]
    for (a, b), w in closed.items():  # closed: every walk-of-two is no faster than the direct one
        for (b2, c), w2 in closed.items():
            if b2 == b and c != a:
                assert closed[(a, c)] <= w + w2
    tt = build_timetable(stops, {}, [])
    walk = raptor.depart_at(tt, [0], [2], 1000)
    assert raptor.summary(walk) == [(0, 1000, 1000 + closed[(0, 2)])]
    assert [leg.kind for leg in walk[0].legs] == ["walk"]


def test_transfers_txt_sets_and_forbids_walks() -> None:
    stops = [Stop(f"S{i}", f"S{i}", 51.4 + i * 0.0009, 6.76) for i in range(3)]  # 100 m apart
    direct = base_footpaths(
        stops, [Transfer(0, 1, 2, 300), Transfer(1, 2, 3), Transfer(0, 0, 2, 120)], max_walk_m=150
    )
    assert direct[(0, 1)] == 300  # min_transfer_time, one way
    assert direct[(1, 0)] == 81  # 100 m at 4.5 km/h
    assert (1, 2) not in direct
    assert (2, 1) in direct


def test_realtime_delay_and_cancellation_change_the_plan() -> None:
    stops = [Stop(s, s, 51.0 + i, 6.0) for i, s in enumerate("ABC")]
    routes = {"1": Route("1", "1"), "2": Route("2", "2")}
    base = [
        Trip("t1", "1", "C", [0, 1, 2], [36000, 36600, 37200], [36000, 36600, 37200], sequences=[1, 2, 3]),
        Trip("t2", "2", "C", [0, 1, 2], [36300, 37000, 38000], [36300, 37000, 38000], sequences=[1, 2, 3]),
    ]
    ids = [s.stop_id for s in stops]
    delayed = apply_realtime(
        base, [TripUpdate("t1", stop_updates=(StopUpdate(2, None, arrival_delay=300),))], ids
    )
    tt = build_timetable(stops, routes, delayed)
    [journey] = raptor.depart_at(tt, [0], [2], 35000)
    leg = journey.legs[0]
    assert (leg.trip_id, leg.departure, leg.arrival, leg.departure_delay, leg.arrival_delay) == (
        "t1",
        36000,
        37500,
        0,
        300,
    )  # the delay from stop 2 on also holds at stop 3
    assert leg.realtime
    # a big delay: the second trip, though later, arrives first; the delayed one overtakes nothing
    late = apply_realtime(
        base, [TripUpdate("t1", stop_updates=(StopUpdate(1, None, departure_delay=1800),))], ids
    )
    tt = build_timetable(stops, routes, late)
    assert raptor.depart_at(tt, [0], [2], 35000)[0].legs[0].trip_id == "t2"
    assert Reference(tt).pareto_depart([0], [2], 35000, 3) == [(1, 38000)]
    # cancelled: gone; a skipped stop: cannot alight there
    gone = apply_realtime(base, [TripUpdate("t1", cancelled=True)], ids)
    assert [t.trip_id for t in gone] == ["t2"]
    skipped = apply_realtime(base, [TripUpdate("t2", stop_updates=(StopUpdate(2, None, skipped=True),))], ids)
    tt = build_timetable(stops, routes, skipped)
    assert raptor.depart_at(tt, [0], [1], 36200) == []


def test_realtime_on_random_networks_matches_the_reference() -> None:
    tt, direct, trips = random_network(7)
    rng = random.Random(77)
    updates = []
    for trip in rng.sample(trips, len(trips) // 3):
        if rng.random() < 0.3:
            updates.append(TripUpdate(trip.trip_id, cancelled=True))
        else:
            seq = rng.choice(trip.sequences)
            updates.append(
                TripUpdate(trip.trip_id, stop_updates=(StopUpdate(seq, None, rng.randint(-60, 900)),))
            )
    changed = apply_realtime(trips, updates, [s.stop_id for s in tt.stops])
    rt = build_timetable(tt.stops, tt.routes, changed, footpaths=direct)
    assert rt.n_trips < tt.n_trips
    assert _check_depart(rt, Reference(rt, direct), rng, 30) > 0


# --- the Google sample feed -----------------------------------------------------------------------


def _seconds(value: str) -> int:
    h, m, s = (int(x) for x in value.strip().split(":"))
    return h * 3600 + m * 60 + s


def _rows(name: str) -> list[dict[str, str]]:
    with (GOOD_FEED / name).open(encoding="utf-8-sig", newline="") as f:
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]


def _week(r: dict[str, str]) -> tuple[bool, bool, bool, bool, bool, bool, bool]:
    on = [r[d] == "1" for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")]
    return (on[0], on[1], on[2], on[3], on[4], on[5], on[6])


def load_sample_feed(day: date) -> tuple[Timetable, list[Trip]]:
    """The sample feed's timetable of ``day``, read with the csv module (independent of the importer)."""
    stops = [
        Stop(r["stop_id"], r["stop_name"], float(r["stop_lat"]), float(r["stop_lon"]))
        for r in _rows("stops.txt")
        if r.get("location_type", "") in ("", "0")
    ]
    index = {s.stop_id: i for i, s in enumerate(stops)}
    routes = {r["route_id"]: Route(r["route_id"], r["route_short_name"]) for r in _rows("routes.txt")}
    calendar = [
        CalendarRow(
            r["service_id"],
            _week(r),
            date(int(r["start_date"][:4]), int(r["start_date"][4:6]), int(r["start_date"][6:])),
            date(int(r["end_date"][:4]), int(r["end_date"][4:6]), int(r["end_date"][6:])),
        )
        for r in _rows("calendar.txt")
    ]
    exceptions = [
        CalendarDateRow(
            r["service_id"],
            date(int(r["date"][:4]), int(r["date"][4:6]), int(r["date"][6:])),
            int(r["exception_type"]),
        )
        for r in _rows("calendar_dates.txt")
    ]
    active = active_services(calendar, exceptions, day)
    trip_rows = {r["trip_id"]: r for r in _rows("trips.txt") if r["service_id"] in active}
    times: dict[str, list[dict[str, str]]] = {}
    for r in _rows("stop_times.txt"):
        if r["trip_id"] in trip_rows:
            times.setdefault(r["trip_id"], []).append(r)
    trips = []
    for trip_id, rows in times.items():
        rows.sort(key=lambda r: int(r["stop_sequence"]))
        t = trip_rows[trip_id]
        trips.append(
            Trip(
                trip_id,
                t["route_id"],
                t.get("trip_headsign", ""),
                [index[r["stop_id"]] for r in rows],
                [_seconds(r["arrival_time"]) for r in rows],
                [_seconds(r["departure_time"]) for r in rows],
                [r.get("pickup_type", "") != "1" for r in rows],
                [r.get("drop_off_type", "") != "1" for r in rows],
                sequences=[int(r["stop_sequence"]) for r in rows],
                service_date=day,
            )
        )
    frequencies = [
        FrequencyRow(r["trip_id"], _seconds(r["start_time"]), _seconds(r["end_time"]), int(r["headway_secs"]))
        for r in _rows("frequencies.txt")
    ]
    transfers = [
        Transfer(
            index[r["from_stop_id"]],
            index[r["to_stop_id"]],
            int(r["transfer_type"] or 0),
            int(r["min_transfer_time"]) if r.get("min_transfer_time") else None,
        )
        for r in _rows("transfers.txt")
    ]
    expanded = expand_frequencies(trips, frequencies)
    return build_timetable(stops, routes, expanded, transfers, day=day), expanded


@pytest.mark.parametrize("day", [date(2025, 6, 4), date(2025, 6, 7)])  # a Wednesday and a Saturday
def test_sample_feed_matches_the_reference(day: date) -> None:
    tt, _trips = load_sample_feed(day)
    ref = Reference(tt)
    rng = random.Random(day.toordinal())
    found = 0
    for _ in range(60):
        a, b = rng.sample(range(tt.n_stops), 2)
        start = rng.randint(5 * 3600, 20 * 3600)
        got = raptor.depart_at(tt, [a], [b], start, max_rides=MAX_RIDES)
        assert [(j.rides, j.arrival) for j in got] == ref.pareto_depart([a], [b], start, MAX_RIDES)
        found += len(got)
        end = start + 3 * 3600
        back = raptor.arrive_by(tt, [a], [b], end, max_rides=3)
        assert [(j.rides, j.departure) for j in back] == ref.pareto_arrive(
            [a], [b], end, 3, horizon=end - 24 * 3600
        )
    assert found > 10


def test_sample_feed_known_journey() -> None:
    tt, _trips = load_sample_feed(date(2025, 6, 4))
    a, b = tt.stop_index("STAGECOACH"), tt.stop_index("DADAN")
    [journey] = raptor.depart_at(tt, [a], [b], 8 * 3600 + 180)
    [leg] = journey.legs
    # CITY1 runs every 10 minutes from 08:00 (frequencies.txt) and needs 19 minutes to DADAN
    assert (leg.route_id, leg.departure, leg.arrival) == ("CITY", 8 * 3600 + 600, 8 * 3600 + 600 + 1140)
    assert leg.trip_id == "CITY1@08:10:00"
    # STBA may not be boarded at STAGECOACH (pickup_type 1): no journey to the airport from there
    airport = tt.stop_index("BEATTY_AIRPORT")
    for found in raptor.depart_at(tt, [a], [airport], 6 * 3600):
        assert all(leg.trip_id.split("@")[0] != "STBA" or leg.from_stop != a for leg in found.legs)
    assert journey.arrival < UNREACHED
