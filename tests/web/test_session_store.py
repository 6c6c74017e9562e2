"""Session writes on SQLite get their turn behind a steady stream of other writers (the simulator's start).

SQLite's busy handler polls with growing sleeps; a writer that leaves a gap of well under a millisecond
between its transactions starves it. The control shows that: plain writes fail with "database is locked".
The store's writes queue as every writer does and all succeed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.accounts.models import SessionRecord
from stadtkern.core.clock import FrozenClock
from stadtkern.db import engine as db_engine
from stadtkern.db.engine import create_engine, lock_for_writing, session_factory
from stadtkern.web.session_store import DatabaseSessionStore
from tests.conftest import START
from tests.support.database import migrated_database

BUSY_TIMEOUT_MS = 200  # short, so that starvation shows within the test
HOLD_S = BUSY_TIMEOUT_MS / 2000  # each steady write transaction: half the busy timeout


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db_engine, "SQLITE_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS)


@pytest.fixture
async def sessions(
    tmp_path: Path, short_busy_timeout: None
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = await migrated_database("sqlite", tmp_path, None)
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def steady_writer(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """Back-to-back write transactions of half the busy timeout each.

    A plain writer gets in only if its busy handler happens to poll in the short gap between two of them.
    (With 20 ms transactions, like the simulator's, it usually starved too, but there were ten gaps per
    busy timeout, and on a loaded machine they grew: the control failed now and then.) A queued writer
    waits for at most one of them, well within the busy timeout it waits for its turn.
    """
    stop = asyncio.Event()

    async def write_forever() -> None:
        while not stop.is_set():
            async with sessions() as session, session.begin():
                await lock_for_writing(session)
                session.add(SessionRecord(key="writer", value=b"x", expires_at=None))
                await session.flush()
                await asyncio.sleep(HOLD_S)
                await session.execute(delete(SessionRecord).where(SessionRecord.key == "writer"))

    task = asyncio.create_task(write_forever())
    await asyncio.sleep(0.1)
    try:
        yield
    finally:
        stop.set()
        await task


async def test_without_the_queue_writes_starve_behind_a_steady_writer(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The control: ten plain writes, each given 200 ms by SQLite's busy handler."""
    errors: list[str] = []
    async with steady_writer(sessions):
        for attempt in range(10):
            try:
                async with sessions() as session:
                    session.add(SessionRecord(key=f"plain-{attempt}", value=b"v", expires_at=None))
                    await session.commit()
            except OperationalError as exc:
                errors.append(str(exc))
    assert errors
    assert all("database is locked" in error for error in errors)


async def test_session_writes_queue_and_all_succeed(sessions: async_sessionmaker[AsyncSession]) -> None:
    store = DatabaseSessionStore(sessions, FrozenClock(START))
    async with steady_writer(sessions):
        for number in range(10):
            await store.set(f"login-{number}", b"state", expires_in=3600)
            assert await store.get(f"login-{number}", renew_for=7200) == b"state"
            assert await store.expires_in(f"login-{number}") == 7200
        for number in range(5):
            await store.delete(f"login-{number}")
    assert [await store.exists(f"login-{n}") for n in range(10)] == [False] * 5 + [True] * 5
