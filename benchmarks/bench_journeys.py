"""Journey planner (issue 6): RAPTOR query times on a VRR-scale synthetic network, in-process.

The network: about 10,000 stops (stations of 2–3 platforms on a 60 × 50 km area, like the VRR's), lines
as chains of neighbouring stations, both directions, every 10–30 minutes from 05:00 to midnight: about
1,000,000 stop times; walks within 400 m, transitively closed. Queries: random pairs of served stops at random times
of the day, depart-at and arrive-by, each the full Pareto set (up to 8 rides).

Prints one JSON line per measurement. Usage: .venv/bin/python -m benchmarks.bench_journeys [--queries N] [--http]
With ``--http`` the network is also written as GTFS, imported into SQLite and queried through a real
``stadtkern serve`` (``GET /api/mobilitaet/verbindungen``, stop ids as names).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import platform
import random
import resource
import signal
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from stadtkern.mobility import raptor
from stadtkern.mobility.timetable import Route, Stop, Timetable, Trip, build_timetable


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def network(
    seed: int = 6, stations: int = 4000, lines: int = 600
) -> tuple[list[Stop], dict[str, Route], list[Trip]]:
    rng = random.Random(seed)
    stops: list[Stop] = []
    platforms: list[list[int]] = []
    centres: list[tuple[float, float]] = []
    for s in range(stations):
        lat, lon = 51.2 + rng.uniform(0, 0.45), 6.5 + rng.uniform(0, 0.85)
        centres.append((lat, lon))
        own = []
        for p in range(rng.choice([2, 2, 3, 3, 3])):
            own.append(len(stops))
            stops.append(
                Stop(
                    f"de:vrr:{s}:{p + 1}",
                    f"Station {s}",
                    lat + rng.uniform(-0.0003, 0.0003),
                    lon + rng.uniform(-0.0004, 0.0004),
                    platform_code=str(p + 1),
                )
            )
        platforms.append(own)
    # neighbours on a coarse grid, for lines that run between nearby stations
    cell = 0.03
    grid: dict[tuple[int, int], list[int]] = {}
    for s, (lat, lon) in enumerate(centres):
        grid.setdefault((int(lat / cell), int(lon / cell)), []).append(s)

    def near(s: int) -> list[int]:
        lat, lon = centres[s]
        gy, gx = int(lat / cell), int(lon / cell)
        return [
            t for dy in (-1, 0, 1) for dx in (-1, 0, 1) for t in grid.get((gy + dy, gx + dx), []) if t != s
        ]

    routes: dict[str, Route] = {}
    trips: list[Trip] = []
    for n in range(lines):
        route_id = f"R{n}"
        routes[route_id] = Route(route_id, str(100 + n), route_type=rng.choice([0, 3, 3, 3, 1]))
        path = [rng.randrange(stations)]
        heading = rng.uniform(0, 2 * math.pi)
        while len(path) < rng.randint(15, 35):
            options = [t for t in near(path[-1]) if t not in path]
            if not options:
                break
            lat, lon = centres[path[-1]]

            def score(t: int, lat: float = lat, lon: float = lon, heading: float = heading) -> float:
                angle = math.atan2(centres[t][0] - lat, centres[t][1] - lon)
                return abs(math.remainder(angle - heading, 2 * math.pi)) + rng.random() * 0.8

            path.append(min(options, key=score))
        if len(path) < 3:
            continue
        hops = [rng.randint(60, 180) for _ in path[1:]]
        headway = rng.choice([600, 900, 1200, 1800])
        for direction in (0, 1):
            stations_of = path if direction == 0 else path[::-1]
            h = hops if direction == 0 else hops[::-1]
            stop_seq = [platforms[s][direction % len(platforms[s])] for s in stations_of]
            t = 5 * 3600 + rng.randint(0, headway)
            k = 0
            while t < 24 * 3600:
                arr, dep = [], []
                clock = t
                for i in range(len(stop_seq)):
                    if i:
                        clock += h[i - 1]
                    arr.append(clock)
                    clock += 20 if 0 < i < len(stop_seq) - 1 else 0
                    dep.append(clock)
                trips.append(
                    Trip(
                        f"{route_id}-{direction}-{k}",
                        route_id,
                        f"Station {stations_of[-1]}",
                        stop_seq,
                        arr,
                        dep,
                    )
                )
                t += headway
                k += 1
    return stops, routes, trips


REPO = Path(__file__).resolve().parents[1]


def write_gtfs(folder: Path, stops: list[Stop], routes: dict[str, Route], trips: list[Trip]) -> None:
    """The synthetic network as a GTFS folder (every day of 2026 and 2027)."""
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, header: list[str], rows: list[list[object]]) -> None:
        with (folder / name).open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f)
            out.writerow(header)
            out.writerows(rows)

    def clock(t: int) -> str:
        return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"

    write(
        "agency.txt",
        ["agency_id", "agency_name", "agency_url", "agency_timezone"],
        [["VRR", "Synthetisch", "https://example.org", "Europe/Berlin"]],
    )
    write(
        "stops.txt",
        ["stop_id", "stop_name", "stop_lat", "stop_lon", "platform_code"],
        [[s.stop_id, s.name, f"{s.lat:.6f}", f"{s.lon:.6f}", s.platform_code] for s in stops],
    )
    write(
        "routes.txt",
        ["route_id", "agency_id", "route_short_name", "route_type"],
        [[r.route_id, "VRR", r.short_name, r.route_type] for r in routes.values()],
    )
    write(
        "calendar.txt",
        [
            "service_id",
            "monday",
            "tuesday",
            "wednesday",
            "thursday",
            "friday",
            "saturday",
            "sunday",
            "start_date",
            "end_date",
        ],
        [["ALL", 1, 1, 1, 1, 1, 1, 1, "20260101", "20271231"]],
    )
    write(
        "trips.txt",
        ["route_id", "service_id", "trip_id", "trip_headsign"],
        [[t.route_id, "ALL", t.trip_id, t.headsign] for t in trips],
    )
    write(
        "stop_times.txt",
        ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"],
        [
            [t.trip_id, clock(a), clock(d), stops[s].stop_id, i + 1]
            for t in trips
            for i, (s, a, d) in enumerate(zip(t.stops, t.arr, t.dep, strict=True))
        ],
    )


def http(stops: list[Stop], routes: dict[str, Route], trips: list[Trip], queries: int) -> None:
    """The same kind of queries through ``GET /api/mobilitaet/verbindungen`` of a real server (SQLite)."""
    from tests.mobility.gtfs_support import create_mobility_tables
    from tests.support.postgres import free_port

    from stadtkern.core.clock import SystemClock
    from stadtkern.db.engine import create_engine, session_factory
    from stadtkern.mobility.importer import import_feed

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "feed"
        write_gtfs(folder, stops, routes, trips)
        data_dir = Path(tmp) / "var"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("STADTKERN_")}
        env.update(
            STADTKERN_DATA_DIR=str(data_dir), STADTKERN_PORT=str(port), STADTKERN_EMBEDDED_WORKER="false"
        )
        subprocess.run(
            [str(REPO / ".venv/bin/stadtkern"), "migrate"], env=env, check=True, capture_output=True
        )

        async def load() -> float:
            engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'stadtkern.sqlite3'}")
            try:
                await create_mobility_tables(engine)
                started = time.perf_counter()
                async with session_factory(engine)() as session, session.begin():
                    await import_feed(session, folder, SystemClock())
                return time.perf_counter() - started
            finally:
                await engine.dispose()

        imported = asyncio.run(load())
        process = subprocess.Popen(
            [str(REPO / ".venv/bin/stadtkern"), "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start")
            served = sorted({s for t in trips for s in t.stops})
            rng = random.Random(61)
            today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin")).date()
            with httpx.Client(base_url=base, timeout=300) as client:
                started = time.perf_counter()
                first = client.get(
                    "/api/mobilitaet/verbindungen",
                    params={
                        "von": stops[served[0]].stop_id,
                        "nach": stops[served[-1]].stop_id,
                        "zeit": f"{today.isoformat()}T08:00",
                    },
                )
                first_s = time.perf_counter() - started
                assert first.status_code == 200, first.text
                times: list[float] = []
                answered = 0
                for _ in range(queries):
                    a, b = rng.sample(served, 2)
                    while stops[a].name == stops[b].name:  # platforms of one station are one place
                        a, b = rng.sample(served, 2)
                    at = rng.randint(6 * 3600, 20 * 3600)
                    params = {
                        "von": stops[a].stop_id,
                        "nach": stops[b].stop_id,
                        "zeit": f"{today.isoformat()}T{at // 3600:02d}:{at % 3600 // 60:02d}",
                    }
                    started = time.perf_counter()
                    response = client.get("/api/mobilitaet/verbindungen", params=params)
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.text
                    answered += bool(response.json()["journeys"])
            print(
                json.dumps(
                    {
                        "measure": "http_depart_at",
                        "queries": queries,
                        "answered": answered,
                        "import_s": round(imported, 1),
                        "first_request_s": round(first_s, 1),
                        "p50_ms": round(percentile(times, 0.50), 1),
                        "p95_ms": round(percentile(times, 0.95), 1),
                        "max_ms": round(max(times), 1),
                    }
                ),
                flush=True,
            )
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(tt: Timetable, queries: int, arrive: bool, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    times: list[float] = []
    found = 0
    rides: list[int] = []
    served = sorted(set(tt.slot_stop.tolist()))  # stops some line calls at
    for _ in range(queries):
        a, b = rng.sample(served, 2)
        at = rng.randint(6 * 3600, 20 * 3600)
        started = time.perf_counter()
        search = raptor.arrive_by if arrive else raptor.depart_at
        result = search(tt, [a], [b], at)
        times.append((time.perf_counter() - started) * 1000)
        found += bool(result)
        rides.extend(j.rides for j in result)
    return {
        "measure": "arrive_by" if arrive else "depart_at",
        "queries": queries,
        "answered": found,
        "journeys": len(rides),
        "max_rides": max(rides, default=0),
        "p50_ms": round(percentile(times, 0.50), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
        "mean_ms": round(statistics.fmean(times), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--stations", type=int, default=4000)
    parser.add_argument("--lines", type=int, default=400)
    parser.add_argument("--http", action="store_true", help="also through the JSON API of a real server")
    args = parser.parse_args()
    started = time.perf_counter()
    stops, routes, trips = network(stations=args.stations, lines=args.lines)
    generated = time.perf_counter()
    tt = build_timetable(stops, routes, trips)
    built = time.perf_counter()
    tt.reverse()
    raptor.depart_at(tt, [0], [1], 8 * 3600)  # prepares the search arrays once
    reversed_at = time.perf_counter()
    print(
        json.dumps(
            {
                "measure": "timetable",
                "stops": tt.n_stops,
                "stop_times": tt.n_stop_times,
                "trips": tt.n_trips,
                "patterns": tt.n_patterns,
                "footpaths_closed": len(tt.walk_to),
                "generate_s": round(generated - started, 1),
                "build_s": round(built - generated, 1),
                "reverse_and_prepare_s": round(reversed_at - built, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                **machine(),
            }
        ),
        flush=True,
    )
    for arrive in (False, True):
        print(json.dumps(measure(tt, args.queries, arrive, seed=60 + arrive)), flush=True)
    if args.http:
        del tt
        http(stops, routes, trips, min(args.queries, 200))


if __name__ == "__main__":
    main()
