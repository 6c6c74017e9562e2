"""Issue 4's figure: backfilling one month of the default demo city (observations/s, wall time).

Provisions the default city (scale 1.0 of cities/duisburg/twin.toml, about 4,000 assets) into a fresh
migrated database, then backfills October 2026 with the simulator engine exactly as
``stadtkern simulate --from 2026-10-01 --to 2026-11-01`` does (generators of the enabled modules, writes
through the SensorThings ingest), then runs the same range again (everything is stored: nothing written).
Also times generating the readings alone, to show how the wall time splits. Prints one JSON line each.

Usage (from the checkout): .venv/bin/python -m benchmarks.bench_simulate [--db sqlite|postgresql|both] [--days 31] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


async def bench(url: str, days: int, scale: float, kind: str) -> None:
    from stadtkern.config import load_settings
    from stadtkern.core.city import load_city
    from stadtkern.core.clock import SystemClock
    from stadtkern.db.engine import create_engine, lock_for_writing, session_factory
    from stadtkern.db.migrate import upgrade
    from stadtkern.modules import collect, plugin_manager
    from stadtkern.simulator.city import context_for, load_targets
    from stadtkern.simulator.cli import parse_moment
    from stadtkern.simulator.engine import generate, run
    from stadtkern.twin.registry import asset_types
    from stadtkern.twin.services import provision_city

    settings = load_settings(
        {"STADTKERN_DATABASE_URL": url, "STADTKERN_CITIES_DIR": str(REPO / "cities")},
        env_file=Path("/nonexistent"),
    )
    city = load_city(settings.city_dir)
    pm = plugin_manager(city.modules.enabled)
    hook: Any = pm.hook
    await asyncio.to_thread(upgrade, url, collect(hook.stadtkern_migration_dirs()))
    engine = create_engine(url)
    sessions = session_factory(engine)
    clock = SystemClock()
    context = context_for(city, 1)
    try:
        began = time.perf_counter()
        async with sessions() as session:
            await lock_for_writing(session)
            report = await provision_city(session, city, asset_types(pm), now=clock.now(), scale=scale)
            await session.commit()
        provisioned = time.perf_counter() - began
        targets = await load_targets(sessions, pm)
        streams = sum(len(t.asset.datastreams) for t in targets)
        print(json.dumps({"bench": "simulate_provision", "db": kind, "assets": len(targets),
                          "datastreams": streams, "seconds": round(provisioned, 2),
                          "things_created": report.things_created}), flush=True)  # fmt: skip
        start = parse_moment("2026-10-01", context.timezone)
        end = start + timedelta(days=days)

        began = time.perf_counter()
        generated = sum(len(b.times) for t in targets for b in generate(t, start, end, context))
        generation = time.perf_counter() - began
        print(json.dumps({"bench": "simulate_generate_only", "readings": generated, "seconds": round(generation, 1),
                          "per_second": round(generated / generation)}), flush=True)  # fmt: skip

        result = await run(sessions, targets, start, end, context, now=clock.now)
        print(json.dumps({"bench": "simulate_backfill", "db": kind, "days": days, "scale": scale,
                          "assets": len(targets), "datastreams": streams, "observations": result.observations,
                          "seconds": round(result.seconds, 1), "per_second": round(result.rate),
                          "by_type": dict(result.by_type), "machine": machine()}), flush=True)  # fmt: skip
        again = await run(sessions, targets, start, end, context, now=clock.now)
        print(json.dumps({"bench": "simulate_backfill_again", "db": kind, "observations": again.observations,
                          "skipped": again.skipped, "seconds": round(again.seconds, 1)}), flush=True)  # fmt: skip
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=31)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgresql", "both"],
        default="sqlite",
        help="PostgreSQL: one started for the run",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(bench(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", args.days, args.scale, "sqlite"))
    if args.db in ("postgresql", "both"):
        from tests.support.database import create_postgres_database
        from tests.support.postgres import PostgresServer

        server = PostgresServer()
        try:
            url = asyncio.run(create_postgres_database(server.start(), "stadtkern_bench_simulate"))
            asyncio.run(bench(url, args.days, args.scale, "postgresql"))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
