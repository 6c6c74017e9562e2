"""GTFS import at VRR scale: a synthetic feed (10,000 stops, 1,000,000 stop times) on SQLite and PostgreSQL.

Each import runs in its own subprocess, so its peak memory (``ru_maxrss``) is the import's alone. Figures:
seconds to read and validate, seconds to load (one transaction, bulk), stop times per second, peak RSS.
A second import of the same feed replaces the first (the atomic replacement path, with 1M rows to delete).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def generate(folder: Path, stops: int, stop_times: int, stops_per_trip: int = 20) -> None:
    """A feed shaped like a regional one: routes of 20 stops over a grid, trips every few minutes."""
    rng = random.Random(6)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "agency.txt").write_text(
        "agency_id,agency_name,agency_url,agency_timezone\nVRR,Synthetic,https://example.org,Europe/Berlin\n"
    )
    (folder / "calendar.txt").write_text(
        "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,start_date,end_date\n"
        "WK,1,1,1,1,1,0,0,20260101,20271231\nWE,0,0,0,0,0,1,1,20260101,20271231\n"
    )
    with (folder / "stops.txt").open("w") as out:
        out.write("stop_id,stop_name,stop_lat,stop_lon\n")
        for i in range(stops):
            out.write(f"S{i},Haltestelle {i},{51.2 + (i // 100) * 0.004:.5f},{6.5 + (i % 100) * 0.006:.5f}\n")
    trips = stop_times // stops_per_trip
    routes = max(1, trips // 100)
    with (folder / "routes.txt").open("w") as out:
        out.write("route_id,agency_id,route_short_name,route_type\n")
        for r in range(routes):
            out.write(f"R{r},VRR,{r},3\n")
    patterns = [rng.sample(range(stops), stops_per_trip) for _ in range(routes)]
    with (folder / "trips.txt").open("w") as trips_out, (folder / "stop_times.txt").open("w") as times_out:
        trips_out.write("route_id,service_id,trip_id,direction_id\n")
        times_out.write("trip_id,arrival_time,departure_time,stop_id,stop_sequence\n")
        for t in range(trips):
            route = t % routes
            trips_out.write(f"R{route},{'WK' if t % 3 else 'WE'},T{t},0\n")
            start = 5 * 3600 + (t // routes) * 600 % (19 * 3600)
            for seq, stop in enumerate(patterns[route]):
                at = start + seq * 120
                clock = f"{at // 3600:02d}:{at % 3600 // 60:02d}:{at % 60:02d}"
                times_out.write(f"T{t},{clock},{clock},S{stop},{seq}\n")


async def child(database_url: str, feed_dir: Path, repeat: int) -> None:
    from tests.mobility.gtfs_support import create_mobility_tables

    from stadtkern.core.clock import SystemClock
    from stadtkern.db.engine import create_engine, session_factory
    from stadtkern.mobility.gtfs import read_feed
    from stadtkern.mobility.importer import load_feed

    engine = create_engine(database_url)
    await create_mobility_tables(engine)
    for attempt in range(repeat):
        started = time.perf_counter()
        feed = read_feed(feed_dir)
        read_s = time.perf_counter() - started
        assert not feed.errors, [str(p) for p in feed.errors[:5]]
        started = time.perf_counter()
        async with session_factory(engine)() as session, session.begin():
            await load_feed(session, feed, SystemClock(), source=str(feed_dir))
        load_s = time.perf_counter() - started
        del feed
        print(
            json.dumps(
                {
                    "attempt": attempt + 1,
                    "read_validate_s": round(read_s, 2),
                    "load_s": round(load_s, 2),
                    "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                }
            ),
            flush=True,
        )
    await engine.dispose()


def run(kind: str, feed_dir: Path, tmp: Path, stop_times: int) -> None:
    from tests.support.postgres import PostgresServer

    pg: PostgresServer | None = None
    try:
        if kind == "postgresql":
            from tests.support.database import create_postgres_database

            pg = PostgresServer()
            url = asyncio.run(create_postgres_database(pg.start(), "bench_gtfs"))
        else:
            url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
        from stadtkern.db.migrate import upgrade

        upgrade(url)
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_gtfs_import", "--child", url, str(feed_dir)],
            capture_output=True,
            text=True,
            check=True,
        )
        for line in result.stdout.splitlines():
            figures = json.loads(line)
            total = figures["read_validate_s"] + figures["load_s"]
            emit(
                figure="gtfs-import",
                database=kind,
                stop_times=stop_times,
                replaces_previous=figures["attempt"] > 1,
                **figures,
                total_s=round(total, 2),
                stop_times_per_s=round(stop_times / total),
                machine=machine(),
            )
    finally:
        if pg is not None:
            pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stops", type=int, default=10_000)
    parser.add_argument("--stop-times", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--child", nargs=2, metavar=("DATABASE_URL", "FEED_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child[0], Path(args.child[1]), repeat=2))
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        started = time.perf_counter()
        generate(tmp / "feed", args.stops, args.stop_times)
        emit(note="synthetic feed generated", seconds=round(time.perf_counter() - started, 1))
        for kind in args.databases.split(","):
            run(kind, tmp / "feed", tmp, args.stop_times)


if __name__ == "__main__":
    main()
