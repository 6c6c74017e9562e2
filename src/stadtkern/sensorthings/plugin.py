"""The SensorThings core as a module: its tables, migrations, HTTP API and SQLite functions."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from litestar.types import ControllerRouterHandler
from sqlalchemy import delete, select

from stadtkern.contracts import JobKind, NavEntry, PeriodicJob
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.core.jobs.context import JobContext
from stadtkern.db.engine import SQLITE_FUNCTION_INSTALLERS, lock_for_writing
from stadtkern.hookspecs import hookimpl
from stadtkern.sensorthings import api, models, partitions, views
from stadtkern.sensorthings import cli as sta_cli
from stadtkern.sensorthings.store import sqlite_functions

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
TEMPLATES = Path(__file__).resolve().parent / "templates"

if sqlite_functions.install not in SQLITE_FUNCTION_INSTALLERS:
    SQLITE_FUNCTION_INSTALLERS.append(sqlite_functions.install)


@hookimpl
def stadtkern_cli_commands() -> Sequence[click.Command]:
    return [sta_cli.sta]


@hookimpl
def stadtkern_routes() -> Sequence[ControllerRouterHandler]:
    return [api.ROUTER, *views.ROUTES]


@hookimpl
def stadtkern_template_dirs() -> Sequence[Path]:
    return [TEMPLATES]


@hookimpl
def stadtkern_nav_entries() -> Sequence[NavEntry]:
    return [
        NavEntry(
            _l("Sensor-Schlüssel"),
            "/verwaltung/sensorthings-schluessel",
            order=95,
            roles=frozenset({"admin"}),
        )
    ]


@hookimpl
def stadtkern_models() -> Sequence[Any]:
    return [models]


@hookimpl
def stadtkern_migration_dirs() -> Sequence[Path]:
    return [MIGRATIONS]


async def keep_partitions_ready(context: JobContext, payload: dict[str, Any]) -> None:
    """PostgreSQL: the current month's and the next three months' observation partitions exist."""
    engine = context.runtime.engine
    if engine.dialect.name != "postgresql":
        return
    async with engine.begin() as connection:
        await partitions.ensure_months(connection, context.runtime.clock.now(), months=4)


@hookimpl
def stadtkern_job_kinds() -> Sequence[JobKind]:
    return [
        JobKind("sensorthings.partitions", keep_partitions_ready, max_attempts=3),
        JobKind("sensorthings.retention", enforce_retention, max_attempts=3),
    ]


@hookimpl
def stadtkern_periodic_jobs() -> Sequence[PeriodicJob]:
    return [
        PeriodicJob("sensorthings.partitions", every=timedelta(hours=6)),
        PeriodicJob("sensorthings.retention", every=timedelta(hours=1)),
    ]


@contextlib.asynccontextmanager
async def live_lifespan(
    app: Any, runtime: Any, *, port: int | None = None, endpoint: bool = True
) -> AsyncIterator[None]:
    """The MQTT endpoint and the event bus (and its Mosquitto bridge) for the app's lifetime.

    ``endpoint=False``: only the bus and its bridge, for web workers when ``stadtkern sta mqtt`` serves
    the endpoint in a process of its own.

    Called by the app factory when the endpoint is enabled (``create_app(mqtt=True)``, ``stadtkern run``);
    a hookspec for module lifespans can replace this direct call once a second module needs one.
    """
    from stadtkern.sensorthings.mqtt.lifecycle import start_live

    live = await start_live(app.state, runtime, port=port, endpoint=endpoint)
    try:
        yield
    finally:
        await live.stop()


RETENTION_CHUNK = 500  # Datastreams per DELETE: short write transactions, few statements


async def enforce_retention(context: JobContext, payload: dict[str, Any]) -> None:
    """Delete observations older than their Datastream's retention period (what the register shows).

    One DELETE per retention period and chunk of Datastreams, each in a short write transaction: a city
    has thousands of Datastreams but a handful of periods, and a statement and commit per Datastream kept
    the job runner busy for a minute on SQLite (the jobs queued behind it, mails among them, waited).
    """
    rt = context.runtime
    now = rt.clock.now()
    async with rt.sessions() as session:
        streams = (
            await session.execute(
                select(models.DATASTREAMS.c.id, models.DATASTREAMS.c.retention_days).where(
                    models.DATASTREAMS.c.retention_days.is_not(None)
                )
            )
        ).all()
    by_period: dict[int, list[int]] = defaultdict(list)
    for stream_id, days in streams:
        by_period[int(days)].append(int(stream_id))
    chunks = [
        (days, ids[start : start + RETENTION_CHUNK])
        for days, ids in sorted(by_period.items())
        for start in range(0, len(ids), RETENTION_CHUNK)
    ]
    for index, (days, ids) in enumerate(chunks):
        async with rt.sessions() as session, session.begin():
            await lock_for_writing(session)
            await session.execute(
                delete(models.OBSERVATIONS).where(
                    models.OBSERVATIONS.c.datastream_id.in_(ids),
                    models.OBSERVATIONS.c.phenomenon_time < now - timedelta(days=days),
                )
            )
        await context.progress(index + 1, len(chunks), f"{len(ids)} Datastreams, {days} days")
