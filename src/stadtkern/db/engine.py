"""Engine and session factory for SQLite (aiosqlite, WAL) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from stadtkern.config import ConfigError, Settings

SQLITE_BUSY_TIMEOUT_MS = 10_000


# Modules add SQL functions SQLite lacks (spatial tests, floor/ceil) by appending installers here; each is
# called with every new DBAPI connection.
SQLITE_FUNCTION_INSTALLERS: list[Callable[[Any], None]] = []


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed transaction survives a crash of the process and of the machine.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()
    for install in SQLITE_FUNCTION_INSTALLERS:
        install(dbapi_connection)


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError("STADTKERN_DATABASE_URL is not a valid database URL.") from None
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            # Each aiosqlite connection is a thread with our functions registered: keep enough of them so
            # that busy moments do not open and close overflow connections (measured as a bottleneck).
            if "poolclass" not in kwargs:
                kwargs.setdefault("pool_size", 20)
                kwargs.setdefault("max_overflow", 20)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # JIT compilation costs more than it saves on our short queries (measured: half a second of compile
    # time on a paged observation query whose plan looked expensive).
    kwargs.setdefault("connect_args", {"server_settings": {"jit": "off"}})
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    ping_after = kwargs.pop("ping_after_idle", PING_AFTER_IDLE_SECONDS)
    engine = create_async_engine(url, **kwargs)
    _ping_idle_connections(engine, ping_after)
    return engine


# A pooled PostgreSQL connection idle for longer than this is checked before use. Checking every
# checkout (SQLAlchemy's pool_pre_ping) costs three round trips per transaction, measured as a fifth of
# a single-observation write; a connection in steady use is known to be alive.
PING_AFTER_IDLE_SECONDS = 5.0


def _ping_idle_connections(engine: AsyncEngine, after_seconds: float) -> None:
    pool = engine.sync_engine.pool

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < after_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:  # the server went away: the pool replaces this connection and retries
            raise DisconnectionError(str(exc)) from exc

    event.listen(pool, "checkin", checked_in)
    event.listen(pool, "checkout", checked_out)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def check_connection(engine: AsyncEngine, wait_seconds: float = 5.0) -> None:
    """Raise ConfigError with one line when the database cannot be reached."""
    try:
        async with asyncio.timeout(wait_seconds):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except TimeoutError:
        raise ConfigError(
            f"Database {describe(engine)} did not answer within {wait_seconds:.0f} s."
        ) from None
    except (OperationalError, DBAPIError, OSError) as exc:
        cause = getattr(exc, "orig", None) or exc
        lines = str(cause).strip().splitlines()
        reason = lines[0] if lines else type(cause).__name__
        raise ConfigError(f"Cannot reach database {describe(engine)}: {reason}") from None


def describe(engine: AsyncEngine) -> str:
    """The URL without its password, for messages."""
    return engine.url.render_as_string(hide_password=True)


def engine_for(settings: Settings) -> AsyncEngine:
    return create_engine(settings.database_url)


async def lock_for_writing(session: AsyncSession) -> None:
    """Start the session's transaction as a writer on SQLite (``BEGIN IMMEDIATE``).

    A deferred SQLite transaction that reads first and writes later must upgrade its read snapshot; if
    another connection committed in between, SQLite refuses at once (SQLITE_BUSY_SNAPSHOT) and no busy
    timeout helps. Write transactions therefore take the write lock up front and wait for it instead.
    Call it first thing in a transaction that will write. No-op on PostgreSQL.

    Writers of one process first queue in order (an asyncio lock per engine, held until the transaction
    ends): left to SQLite's busy handler, which polls with growing sleeps and serves nobody in order, a
    few of 1,000 simultaneous writers waited past the busy timeout and failed with "database is locked".
    """
    bind = session.bind
    if bind is None or bind.dialect.name != "sqlite":
        return
    release = await _writer_turn(session, bind)
    try:
        await session.execute(text("BEGIN IMMEDIATE"))
    except BaseException:
        release()
        raise


_WRITERS: weakref.WeakKeyDictionary[Any, dict[asyncio.AbstractEventLoop, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


async def _writer_turn(session: AsyncSession, bind: Any) -> Callable[[], None]:
    """Wait for this process's turn to write on SQLite; the turn ends with the outer transaction.

    Waits at most as long as SQLite itself would; after that it goes on without the queue, which is the
    behaviour without it (SQLite's own lock still decides).
    """
    loop = asyncio.get_running_loop()
    lock = _WRITERS.setdefault(bind, {}).setdefault(loop, asyncio.Lock())
    try:
        await asyncio.wait_for(lock.acquire(), SQLITE_BUSY_TIMEOUT_MS / 1000)
    except TimeoutError:
        return lambda: None
    sync_session = session.sync_session
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            lock.release()
            # Not from inside the event being dispatched (its listener list may not change meanwhile).
            loop.call_soon(event.remove, sync_session, "after_transaction_end", on_end)

    def on_end(_session: Any, transaction: Any) -> None:
        if transaction.parent is None:  # the outer transaction, not a savepoint
            release()

    event.listen(sync_session, "after_transaction_end", on_end)
    return release
