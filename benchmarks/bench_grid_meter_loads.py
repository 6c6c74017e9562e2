"""Issue 7, grid study on meter data: reading a year of the study district's aggregated household meters.

A fresh migrated database, the demo city provisioned at ``--scale`` (1.0: about 140 household meters in
Rheinhausen, the grid's district), a simulated year for those meters written through the ingest (not timed);
then ``meter_loads.district_aggregate`` for the year (one GROUP BY over all the district's consumption
Datastreams, what a meter-fed study reads), median of several runs; beside it the year's meter-fed study
(aggregate + power flows) against the same study on standard profiles, as a whole.

Usage (from the checkout): .venv/bin/python -m benchmarks.bench_grid_meter_loads [--scale 1.0] [--db sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

REPO = Path(__file__).resolve().parents[1]
BERLIN = "Europe/Berlin"
YEAR = (datetime(2025, 1, 1, tzinfo=ZoneInfo(BERLIN)), datetime(2026, 1, 1, tzinfo=ZoneInfo(BERLIN)))


def machine() -> dict[str, object]:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_1min": load}


async def measure(url: str, kind: str, scale: float, runs: int) -> None:
    from stadtkern.config import load_settings
    from stadtkern.core.city import load_city
    from stadtkern.core.clock import SystemClock
    from stadtkern.db.engine import create_engine, lock_for_writing, session_factory
    from stadtkern.db.migrate import upgrade
    from stadtkern.energy.grid import meter_loads, network
    from stadtkern.energy.grid.scenarios import Scenario
    from stadtkern.energy.grid.study import run_study
    from stadtkern.modules import collect, plugin_manager
    from stadtkern.simulator.city import context_for, load_targets
    from stadtkern.simulator.engine import run
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
    district = network.DISTRICT_CODE
    try:
        async with sessions() as session:
            await lock_for_writing(session)
            await provision_city(session, city, asset_types(pm), now=SystemClock().now(), scale=scale)
            await session.commit()
        targets = [
            t
            for t in await load_targets(sessions, pm, ["household_meter"])
            if t.asset.district_code == district
        ]
        began = time.perf_counter()
        written = await run(sessions, targets, *YEAR, context_for(city, 1), now=SystemClock().now)
        backfill = time.perf_counter() - began
        timings: list[float] = []
        aggregate = None
        for _ in range(runs):
            async with sessions() as session:
                began = time.perf_counter()
                aggregate = await meter_loads.district_aggregate(session, district, *YEAR)
                timings.append(time.perf_counter() - began)
        assert aggregate is not None
        household = aggregate.average_kwh()
        steps = len(household)
        run_study(Scenario(), YEAR[0], 96, BERLIN)  # warm-up: loads the grid and the profiles once
        began = time.perf_counter()
        run_study(Scenario(), YEAR[0], steps, BERLIN, household_kwh=household)
        metered_study = time.perf_counter() - began
        began = time.perf_counter()
        run_study(Scenario(), YEAR[0], steps, BERLIN)
        profile_study = time.perf_counter() - began
        print(json.dumps({"bench": "grid_meter_aggregate_year", "db": kind, "district": district,
                          "meters": aggregate.meters, "observations_written": written.observations,
                          "readings_summed": int(aggregate.reporting.sum()),
                          "backfill_s": round(backfill, 1), "quarter_hours": steps,
                          "aggregate_s_median": round(statistics.median(timings), 3),
                          "aggregate_s_all": [round(t, 3) for t in timings],
                          "readings_per_s": round(int(aggregate.reporting.sum()) / statistics.median(timings)),
                          "meter_share": round(float((~np.isnan(household)).mean()), 4),
                          "study_on_meters_s": round(metered_study, 2),
                          "study_on_profiles_s": round(profile_study, 2), "runs": runs,
                          "machine": machine()}), flush=True)  # fmt: skip
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
            asyncio.run(measure(url, "sqlite", args.scale, args.runs))
    if args.db in ("postgresql", "both"):
        from tests.support.database import create_postgres_database
        from tests.support.postgres import PostgresServer

        server = PostgresServer()
        try:
            url = asyncio.run(create_postgres_database(server.start(), "stadtkern_bench_grid_meters"))
            asyncio.run(measure(url, "postgresql", args.scale, args.runs))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
