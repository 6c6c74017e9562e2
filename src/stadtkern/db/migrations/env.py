"""Alembic environment: runs migrations on the async engine for SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from importlib import import_module
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from stadtkern.db.base import Base
from stadtkern.db.engine import create_engine

# Import every model so that autogenerate sees the whole schema.
for _module in (
    "stadtkern.core.accounts.models",
    "stadtkern.core.audit.models",
    "stadtkern.core.privacy.models",
    "stadtkern.core.jobs.models",
    "stadtkern.core.mail.models",
    "stadtkern.pages.models",
    "stadtkern.sensorthings.models",
    "stadtkern.appointments.models",
    "stadtkern.mobility.models",
    "stadtkern.mobility.ticket_models",
):
    import_module(_module)

config = context.config
target_metadata = Base.metadata


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Autogenerate leaves alone what migrations made by hand and the models do not declare (e.g. the
    partial unique index on observations, made per partition on PostgreSQL): never propose dropping it."""
    return not (reflected and compare_to is None and type_ in ("index", "unique_constraint"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


def run() -> None:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_async(str(url)))


run()
