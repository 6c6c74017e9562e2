"""Test databases: a migrated SQLite file or PostgreSQL database per test session, emptied per test."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from stadtkern.app import create_app
from stadtkern.config import Settings
from stadtkern.core.clock import Clock
from stadtkern.db.base import Base
from stadtkern.db.engine import create_engine
from stadtkern.db.migrate import upgrade


async def create_postgres_database(server_url: str, name: str) -> str:
    url = make_url(server_url)
    conn = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database="postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    db_url = url.set(database=name).render_as_string(hide_password=False)
    target = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database=name)
    try:
        await target.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    finally:
        await target.close()
    return db_url


async def migrated_database(kind: str, tmp_dir: Path, postgres_server_url: str | None) -> str:
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_dir / f'test-{uuid.uuid4().hex[:8]}.sqlite3'}"
    else:
        assert postgres_server_url is not None
        url = await create_postgres_database(postgres_server_url, f"stadtkern_test_{uuid.uuid4().hex[:10]}")
    # Alembic runs its own event loop: keep it off ours.
    await asyncio.to_thread(upgrade, url)
    return url


async def empty_all_tables(url: str) -> None:
    engine = create_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    try:
        async with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in reversed(Base.metadata.sorted_tables):
                    await conn.execute(table.delete())
                if await _has_sequence(conn):
                    await conn.execute(text("DELETE FROM sqlite_sequence"))
    finally:
        await engine.dispose()


async def _has_sequence(conn: AsyncConnection) -> bool:
    result = await conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name='sqlite_sequence'"))
    return bool(result.scalar())


def loop_safe_app(settings: Settings, clock: Clock, **create_kwargs: Any) -> Litestar:
    """The app for tests; on PostgreSQL with an engine that keeps no connections between uses.

    The test client serves requests in its own event loop while the test body (and ``jobs``) use the
    test's loop; asyncpg connections belong to the loop that opened them, so a pooled connection handed
    from one loop to the other would fail. Without a pool every session opens its own.
    """
    app = create_app(settings, clock=clock, run_jobs=False, **create_kwargs)
    runtime = app.state.runtime
    if runtime.engine.dialect.name == "postgresql":
        engine = create_async_engine(settings.database_url, poolclass=NullPool)
        runtime.engine = engine
        runtime.sessions.configure(bind=engine)
    return app
