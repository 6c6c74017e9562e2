"""The engine survives PostgreSQL dropping its pooled connections (restart, failover, idle timeout)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from stadtkern.db.engine import create_engine
from tests.support.database import create_postgres_database


async def test_a_connection_the_server_dropped_is_replaced_before_use(postgres_server: str) -> None:
    url = await create_postgres_database(postgres_server, "reconnect")
    engine = create_engine(url, ping_after_idle=0.0, pool_size=1, max_overflow=0)
    admin = create_engine(url)
    try:
        async with engine.connect() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        # The pooled connection is now idle; the server ends it as a restart would.
        async with admin.connect() as connection:
            assert await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        async with engine.connect() as connection:
            new_pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        assert new_pid != pid
    finally:
        await engine.dispose()
        await admin.dispose()


async def test_without_the_idle_check_the_dropped_connection_fails(postgres_server: str) -> None:
    """The control: this is what the check on checkout prevents."""
    url = await create_postgres_database(postgres_server, "reconnect_control")
    engine = create_engine(url, ping_after_idle=3600.0, pool_size=1, max_overflow=0)
    admin = create_engine(url)
    try:
        async with engine.connect() as connection:
            pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        async with admin.connect() as connection:
            await connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError):
            async with engine.connect() as connection:
                await connection.scalar(text("SELECT 1"))
    finally:
        await engine.dispose()
        await admin.dispose()
