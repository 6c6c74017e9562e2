"""Issue 7's figures: the tariff comparison for 10,000 households over a year of 15-minute data from columnar
arrays (households/s), and reading one household's year from the SensorThings store (ms).

1. Tariff maths: a year (35,040 quarter hours) for N households as a numpy matrix (BDEW H25 times each
   household's yearly consumption with log-normal noise, as the simulator draws them) and the demo day-ahead
   prices; ``tariff_check.compare_many`` under the four Duisburg tariffs, in blocks of 1,000 households.
   Generating the data is not timed. Beside it, the same comparison as a plain Python loop over quarter
   hours for a few households (the baseline), and the flexible-load saving (one per price series).
2. Reading: a fresh migrated database, the demo city at a small scale, a simulated year for the demo
   household ``household-meter-demo-1`` written through the ingest; then ``consumption.read_series`` for
   that year (what the tariff check and the pages call), median of several runs, beside the bare SELECT of
   the same rows (the driver's limit).

Usage (from the checkout): .venv/bin/python -m benchmarks.bench_tariff_check [--households 10000] [--db sqlite|postgresql|both]
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
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
YEAR = (datetime(2025, 12, 31, 23, 0, tzinfo=UTC), datetime(2026, 12, 31, 23, 0, tzinfo=UTC))
BLOCK = 1000


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def tariff_maths(households: int) -> None:
    from stadtkern.energy import demo_prices
    from stadtkern.energy.simulation import METER_SIGMA
    from stadtkern.energy.tariff_check import FlexibleLoad, compare_many, dynamic_prices, flexible_saving
    from stadtkern.energy.tariffs import tariffs_for
    from stadtkern.energy.timegrid import local_days, quarter_ends

    book = tariffs_for(REPO / "cities" / "duisburg")
    tariffs = list(book.tariffs)
    ends = quarter_ends(*YEAR)
    days = len(local_days(ends, "Europe/Berlin").days)
    day_ahead = np.array([r.eur_per_mwh for r in demo_prices.demo_prices(*YEAR, seed=1)])
    from stadtkern.energy.consumption import profile_shares

    shape = profile_shares(ends, "Europe/Berlin", "H25")
    shape = shape / shape.sum()
    rng = np.random.default_rng(7)
    timed = 0.0
    checksum = 0.0
    for first in range(0, households, BLOCK):
        count = min(BLOCK, households - first)
        annual = rng.uniform(1400.0, 5000.0, count)
        noise = rng.lognormal(-(METER_SIGMA**2) / 2, METER_SIGMA, (count, len(ends)))
        kwh = annual[:, None] * shape[None, :] * noise
        began = time.perf_counter()
        costs = compare_many(kwh, day_ahead, tariffs, days=days)
        timed += time.perf_counter() - began
        checksum += float(costs.sum())
    print(json.dumps({"bench": "tariff_compare_columnar", "households": households, "quarter_hours": len(ends),
                      "tariffs": len(tariffs), "seconds": round(timed, 3),
                      "households_per_second": round(households / timed), "checksum_eur": round(checksum),
                      "machine": machine()}), flush=True)  # fmt: skip

    # Baseline: the same comparison as a loop over quarter hours in Python, for a few households.
    dynamic = book.dynamic
    assert dynamic is not None
    gross = dynamic_prices(dynamic, day_ahead).tolist()
    sample = 5
    rows = (np.random.default_rng(8).uniform(0.0, 0.3, (sample, len(ends)))).tolist()
    began = time.perf_counter()
    for row in rows:
        totals = []
        for tariff in tariffs:
            total = tariff.monthly_base_eur * 12 * days / 365
            for i, value in enumerate(row):
                total += value * (gross[i] if tariff.dynamic else (tariff.energy_ct_per_kwh or 0.0) / 100)
            totals.append(total)
    loop = time.perf_counter() - began
    columnar_rate = households / timed
    loop_rate = sample / loop
    print(json.dumps({"bench": "tariff_compare_python_loop", "households": sample, "seconds": round(loop, 3),
                      "households_per_second": round(loop_rate, 1),
                      "columnar_speedup": round(columnar_rate / loop_rate)}), flush=True)  # fmt: skip

    load = FlexibleLoad(7.0, 11.0, clock_time(18), clock_time(7))
    began = time.perf_counter()
    saving = flexible_saving(ends, dynamic_prices(dynamic, day_ahead), load, "Europe/Berlin")
    flex = time.perf_counter() - began
    print(json.dumps({"bench": "flexible_load_saving", "days": saving.days, "saving_eur": round(saving.saving_eur, 2),
                      "seconds": round(flex, 3)}), flush=True)  # fmt: skip


async def read_year(url: str, kind: str, runs: int) -> None:
    from sqlalchemy import select

    from stadtkern.config import load_settings
    from stadtkern.core.city import load_city
    from stadtkern.core.clock import SystemClock
    from stadtkern.db.engine import create_engine, lock_for_writing, session_factory
    from stadtkern.db.migrate import upgrade
    from stadtkern.energy.activation import find_meter
    from stadtkern.energy.consumption import read_series
    from stadtkern.modules import collect, plugin_manager
    from stadtkern.sensorthings import models as m
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
    try:
        async with sessions() as session:
            await lock_for_writing(session)
            await provision_city(session, city, asset_types(pm), now=SystemClock().now(), scale=0.01)
            await session.commit()
        # A year for every household meter of the small city (the demo households among them), so the
        # read picks one Datastream out of many.
        targets = [t for t in await load_targets(sessions, pm) if t.asset.type_key == "household_meter"]
        written = await run(sessions, targets, *YEAR, context_for(city, 1), now=SystemClock().now)
        async with sessions() as session:
            meter = await find_meter(session, "household-meter-demo-1")
        assert meter is not None
        read_ms: list[float] = []
        raw_ms: list[float] = []
        rows = 0
        for _ in range(runs):
            async with sessions() as session:
                began = time.perf_counter()
                series = await read_series(session, meter.datastream_id, *YEAR)
                read_ms.append((time.perf_counter() - began) * 1000)
                rows = series.measured
                began = time.perf_counter()
                raw = (
                    await session.execute(
                        select(m.OBSERVATIONS.c.phenomenon_time, m.OBSERVATIONS.c.result_number).where(
                            m.OBSERVATIONS.c.datastream_id == meter.datastream_id,
                            m.OBSERVATIONS.c.phenomenon_time > YEAR[0],
                            m.OBSERVATIONS.c.phenomenon_time <= YEAR[1],
                        )
                    )
                ).all()
                raw_ms.append((time.perf_counter() - began) * 1000)
                assert len(raw) == rows
        print(json.dumps({"bench": "read_household_year", "db": kind, "meters_in_db": len(targets),
                          "observations_in_db": written.observations, "readings": rows,
                          "read_series_ms_median": round(statistics.median(read_ms), 1),
                          "bare_select_ms_median": round(statistics.median(raw_ms), 1), "runs": runs,
                          "machine": machine()}), flush=True)  # fmt: skip
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both", "none"], default="sqlite")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    tariff_maths(args.households)
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(read_year(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", "sqlite", args.runs))
    if args.db in ("postgresql", "both"):
        from tests.support.database import create_postgres_database
        from tests.support.postgres import PostgresServer

        server = PostgresServer()
        try:
            url = asyncio.run(create_postgres_database(server.start(), "stadtkern_bench_tariff"))
            asyncio.run(read_year(url, "postgresql", args.runs))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
