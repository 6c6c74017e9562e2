"""``stadtkern simulate --from/--to``: a backfill on the provisioned city, with a report, and nothing twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from stadtkern.core.city import load_city
from stadtkern.core.clock import SystemClock
from stadtkern.db.engine import create_engine, lock_for_writing, session_factory
from stadtkern.modules import plugin_manager
from stadtkern.simulator.cli import parse_moment, simulate
from stadtkern.twin.registry import asset_types
from stadtkern.twin.services import provision_city
from tests.conftest import REPO
from tests.simulator.support import BERLIN


async def _provision(url: str) -> None:
    city = load_city(REPO / "cities" / "duisburg")
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            await lock_for_writing(session)
            types = asset_types(plugin_manager(city.modules.enabled))
            await provision_city(session, city, types, now=SystemClock().now(), scale=0.05)
            await session.commit()
    finally:
        await engine.dispose()


def test_parse_moment() -> None:
    assert parse_moment("2026-10-01", BERLIN) == datetime(2026, 9, 30, 22, tzinfo=UTC)
    assert parse_moment("2026-11-01", BERLIN) == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert parse_moment("2026-10-01T06:00:00+00:00", BERLIN) == datetime(2026, 10, 1, 6, tzinfo=UTC)


def test_backfill_from_the_command_line(db_url: str, data_dir: Path) -> None:
    asyncio.run(_provision(db_url))
    env = {
        "STADTKERN_DATABASE_URL": db_url,
        "STADTKERN_DATA_DIR": str(data_dir),
        "STADTKERN_CITIES_DIR": str(REPO / "cities"),
    }
    arguments = [
        "--from",
        "2026-10-01",
        "--to",
        "2026-10-02",
        "--type",
        "traffic_counter",
        "--type",
        "wifi_hotspot",
    ]
    runner = CliRunner()
    first = runner.invoke(simulate, arguments, env=env)
    assert first.exit_code == 0, first.output
    assert "Beobachtungen geschrieben" in first.output
    assert "traffic_counter" in first.output
    assert "wifi_hotspot" in first.output
    again = runner.invoke(simulate, arguments, env=env)
    assert again.exit_code == 0, again.output
    summary = next(line for line in again.output.splitlines() if "Beobachtungen geschrieben" in line)
    assert summary.startswith("0 Beobachtungen geschrieben")


@pytest.mark.parametrize(
    "arguments",
    [["--from", "gestern"], ["--to", "2026-10-02"], ["--from", "2026-10-02", "--to", "2026-10-01"]],
)
def test_bad_ranges_are_refused_with_a_message(arguments: list[str], db_url: str, data_dir: Path) -> None:
    env = {
        "STADTKERN_DATABASE_URL": db_url,
        "STADTKERN_DATA_DIR": str(data_dir),
        "STADTKERN_CITIES_DIR": str(REPO / "cities"),
    }
    result = CliRunner().invoke(simulate, arguments, env=env)
    assert result.exit_code == 2, result.output
