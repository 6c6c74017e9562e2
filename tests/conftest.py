"""Shared fixtures: both databases (SQLite and a real PostgreSQL + PostGIS), the app, its clock and jobs.

Tests that take ``db_url`` (directly or through ``app``/``client``) run once per database.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from stadtkern.config import Settings, load_settings
from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.web.runtime import Runtime
from tests.support.database import empty_all_tables, loop_safe_app, migrated_database
from tests.support.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[1]
DATABASES = ["sqlite", "postgresql"]
# A Tuesday in November 2026, 10:00 in Duisburg.
START = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    external = os.environ.get("STADTKERN_TEST_DATABASE_URL")
    if external:
        yield external
        return
    server = PostgresServer()
    try:
        url = server.start()
    except RuntimeError as exc:
        pytest.exit(str(exc), returncode=3)
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session", params=DATABASES)
def db_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
async def db_session_url(
    db_kind: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    server = request.getfixturevalue("postgres_server") if db_kind == "postgresql" else None
    return await migrated_database(db_kind, tmp_path_factory.mktemp(f"db-{db_kind}"), server)


@pytest.fixture
async def db_url(db_session_url: str) -> AsyncIterator[str]:
    yield db_session_url
    await empty_all_tables(db_session_url)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    path.mkdir()
    return path


def make_settings(db_url: str, data_dir: Path, **overrides: str) -> Settings:
    environ = {
        "STADTKERN_DATA_DIR": str(data_dir),
        "STADTKERN_DATABASE_URL": db_url,
        "STADTKERN_CITIES_DIR": str(REPO / "cities"),
        # No living demo city (simulated readings, demo prices) under the tests unless a test asks for it.
        "STADTKERN_SIMULATOR": "false",
        **{f"STADTKERN_{k.upper()}": v for k, v in overrides.items()},
    }
    return load_settings(environ, env_file=data_dir / "no.env")


@pytest.fixture
def settings(db_url: str, data_dir: Path) -> Settings:
    return make_settings(db_url, data_dir)


@pytest.fixture
def app(settings: Settings, clock: FrozenClock) -> Litestar:
    """The app on the test database (see loop_safe_app for PostgreSQL)."""
    return loop_safe_app(settings, clock)


@pytest.fixture
def runtime(app: Litestar) -> Runtime:
    rt: Runtime = app.state.runtime
    return rt


@pytest.fixture
def jobs(runtime: Runtime) -> JobRunner:
    """Run queued jobs by hand: ``await jobs.run_until_idle()``."""
    return JobRunner(runtime)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as test_client:
        yield test_client
    await app.state.runtime.engine.dispose()
