"""Day-ahead prices in SensorThings: the public Datastream, imports without duplicates, the quarter-hour
grid, demo prices, and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.db.engine import lock_for_writing
from stadtkern.energy import demo_prices, prices
from stadtkern.energy.smard import PriceRow, parse_smard_csv
from stadtkern.energy.tariffs import tariffs_for
from stadtkern.energy.timegrid import local_starts, quarter_ends
from stadtkern.sensorthings import models as m
from stadtkern.web.runtime import Runtime
from tests.support.database import loop_safe_app
from tests.support.processes import run_cli

REPO = Path(__file__).resolve().parents[2]
SMARD = (
    "Datum von;Datum bis;Deutschland/Luxemburg [€/MWh] Originalauflösungen\n"
    "01.06.2026 00:00;01.06.2026 01:00;80,00\n"
    "01.06.2026 01:00;01.06.2026 01:15;70,50\n"
    "01.06.2026 01:15;01.06.2026 01:30;-10,25\n"
)


async def import_text(rt: Runtime, text: str) -> prices.Written:
    book = tariffs_for(rt.settings.city_dir)
    rows = parse_smard_csv(text.encode())
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        return await prices.import_rows(session, book, rows, now=rt.clock.now(), center=rt.city.city.center)


async def test_prices_become_a_public_datastream_read_on_the_quarter_hour_grid(
    rt: Runtime, client: AsyncTestClient[Any]
) -> None:
    first = await import_text(rt, SMARD)
    assert (first.stored, first.kept) == (3, 0)
    again = await import_text(rt, SMARD)
    assert (again.stored, again.kept) == (0, 3)
    async with rt.sessions() as session:
        stream = await prices.price_stream(session, "DE-LU")
        assert stream is not None
        count = await session.scalar(
            select(func.count()).select_from(m.OBSERVATIONS).where(m.OBSERVATIONS.c.datastream_id == stream)
        )
        ends = quarter_ends(
            datetime(2026, 5, 31, 22, 0, tzinfo=UTC), datetime(2026, 5, 31, 23, 45, tzinfo=UTC)
        )
        grid = await prices.prices_on_grid(session, stream, ends)
    assert count == 3
    # The hourly price covers four quarter hours; after the last row nothing is known.
    assert grid[:6].tolist() == [80.0, 80.0, 80.0, 80.0, 70.5, -10.25]
    assert np.isnan(grid[6:]).all()
    # Anyone may read the prices through the SensorThings API (not personal).
    answer = await client.get(f"/sta/v1.1/Datastreams({stream})/Observations?$orderby=phenomenonTime")
    assert answer.status_code == 200
    body = answer.json()
    assert [o["result"] for o in body["value"]] == [80.0, 70.5, -10.25]
    assert body["value"][0]["phenomenonTime"] == "2026-05-31T22:00:00Z/2026-05-31T23:00:00Z"
    stream_info = (await client.get(f"/sta/v1.1/Datastreams({stream})")).json()
    assert stream_info["unitOfMeasurement"]["symbol"] == "EUR/MW.h"


def test_demo_prices_are_deterministic_and_look_like_a_market() -> None:
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    rows = demo_prices.demo_prices(start, end, seed=1)
    again = demo_prices.demo_prices(
        datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 2, tzinfo=UTC), seed=1
    )
    by_start = {r.start: r.eur_per_mwh for r in rows}
    assert all(by_start[r.start] == r.eur_per_mwh for r in again)
    assert len(rows) == 365 * 96
    values = np.array([r.eur_per_mwh for r in rows])
    ends = np.array([np.datetime64(r.end.replace(tzinfo=None), "s") for r in rows])
    local = local_starts(ends, "Europe/Berlin")
    hour, month = np.asarray(local.hour), np.asarray(local.month)
    assert 50 < values.mean() < 130
    # Evening peak above the night, midday dip in summer, a few negative hours in summer only.
    assert values[(hour >= 18) & (hour < 20)].mean() > values[(hour >= 2) & (hour < 5)].mean() + 20
    summer = (month >= 5) & (month <= 8)
    assert (
        values[summer & (hour >= 12) & (hour < 15)].mean()
        < values[summer & (hour >= 18) & (hour < 21)].mean() - 50
    )
    assert 0 < (values[summer] < 0).sum() < summer.sum() * 0.1
    assert (values[~summer & ((month <= 2) | (month >= 11))] < 0).sum() == 0
    assert values.min() >= demo_prices.LOW
    assert values.max() <= demo_prices.HIGH


def test_demo_range_covers_the_households_year_and_tomorrow() -> None:
    now = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
    start, end = demo_prices.demo_range(now, "Europe/Berlin")
    assert start == datetime(2025, 11, 15, 23, 0, tzinfo=UTC)  # local midnight, 366 days back
    assert end == datetime(2026, 11, 18, 23, 0, tzinfo=UTC)  # end of tomorrow


async def test_the_demo_price_job_fills_the_year_and_then_only_adds(rt: Runtime) -> None:
    from stadtkern.energy.jobs import top_up_demo_prices

    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        first = await top_up_demo_prices(session, rt.settings.city_dir, rt.city, rt.clock.now())
    assert first == 368 * 96  # 366 days back, today and tomorrow (no clock change in this range: +4 -4)
    rt.clock.advance(timedelta(days=1))
    async with rt.sessions() as session, session.begin():
        await lock_for_writing(session)
        second = await top_up_demo_prices(session, rt.settings.city_dir, rt.city, rt.clock.now())
        assert await top_up_demo_prices(session, rt.settings.city_dir, rt.city, rt.clock.now()) == 0
    assert second == 96


def test_cli_import_prices_refuses_a_bad_file_and_loads_a_good_one(settings: Any, tmp_path: Path) -> None:
    env = {"STADTKERN_DATABASE_URL": settings.database_url, "STADTKERN_DATA_DIR": str(settings.data_dir)}
    bad = tmp_path / "bad.csv"
    bad.write_text(SMARD.replace("70,50", "-"), encoding="utf-8")
    result = run_cli(["energy", "import-prices", str(bad)], env, REPO)
    assert result.returncode == 2
    assert "row 3, column 'Deutschland/Luxemburg [€/MWh] Originalauflösungen': no price" in result.stderr
    good = tmp_path / "good.csv"
    good.write_text(SMARD, encoding="utf-8")
    result = run_cli(["energy", "import-prices", str(good)], env, REPO)
    assert result.returncode == 0, result.stderr
    assert "3 Preise gespeichert, 0 waren schon vorhanden" in result.stdout


def test_price_rows_are_utc() -> None:
    row = PriceRow(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 15, tzinfo=UTC), 1.0)
    assert row.start.tzinfo is UTC
    with pytest.raises(ValueError, match="grid"):
        demo_prices.demo_prices(
            datetime(2026, 1, 1, 0, 5, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), seed=1
        )


async def test_the_job_runs_only_where_the_demo_city_lives(
    rt: Runtime, data_dir: Path, clock: FrozenClock
) -> None:
    from stadtkern.energy import plugin
    from tests.conftest import make_settings

    # (The grid studies' sweep runs everywhere: tests/energy/grid/test_grid_stale.py.)
    without = plugin.stadtkern_periodic_jobs(
        make_settings(rt.settings.database_url, data_dir, simulator="false")
    )
    assert [job.kind for job in without] == ["energy.grid_study_sweep"]
    wanted = plugin.stadtkern_periodic_jobs(
        make_settings(rt.settings.database_url, data_dir, simulator="true")
    )
    assert [job.kind for job in wanted] == ["energy.demo_prices", "energy.grid_study_sweep"]
    # The runner of an app where the simulator is on enqueues it at once and writes the year.
    living = loop_safe_app(make_settings(rt.settings.database_url, data_dir, simulator="true"), clock)
    await JobRunner(living.state.runtime).run_until_idle()
    await living.state.runtime.engine.dispose()
    async with rt.sessions() as session:
        stream = await prices.price_stream(session, "DE-LU")
        assert stream is not None
        count = await session.scalar(
            select(func.count()).select_from(m.OBSERVATIONS).where(m.OBSERVATIONS.c.datastream_id == stream)
        )
    assert count == 368 * 96
