"""``stadtkern sta ...``: write keys for sensors and gateways."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import click
from sqlalchemy import select

from stadtkern.config import ConfigError, load_settings
from stadtkern.core.clock import SystemClock
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.sensorthings.keys import create_key, revoke_key
from stadtkern.sensorthings.models import ApiKey

T = TypeVar("T")


def _run(work: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(work)
    except ConfigError as exc:
        click.echo(f"stadtkern: {exc}", err=True)
        sys.exit(2)


@click.group("sta")
def sta() -> None:
    """The SensorThings data platform."""


@sta.group("key")
def key() -> None:
    """Write keys for sensors and gateways (HTTP: Authorization: Bearer <key>; MQTT: the key as password)."""


@key.command("create")
@click.argument("name")
@click.option(
    "--thing", "things", multiple=True, type=int, help="Limit to this Thing's Datastreams (repeatable)."
)
@click.option(
    "--datastream", "datastreams", multiple=True, type=int, help="Limit to this Datastream (repeatable)."
)
def key_create(name: str, things: tuple[int, ...], datastreams: tuple[int, ...]) -> None:
    """Create a key and print it once. Without --thing/--datastream the key may write everything."""

    async def work() -> str:
        settings = load_settings()
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                _key, token = await create_key(
                    session,
                    name=name,
                    secret_key=settings.secret_key,
                    now=SystemClock().now(),
                    things=list(things),
                    datastreams=list(datastreams),
                )
                await session.commit()
                return token
        finally:
            await engine.dispose()

    token = _run(work())
    scope = (
        "everything"
        if not things and not datastreams
        else f"things {list(things)}, datastreams {list(datastreams)}"
    )
    click.echo(f"Key {name!r} may write {scope}. It is shown only now:\n{token}")


@key.command("list")
def key_list() -> None:
    """List keys (never their secret)."""

    async def work() -> list[ApiKey]:
        settings = load_settings()
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                return list((await session.scalars(select(ApiKey).order_by(ApiKey.id))).all())
        finally:
            await engine.dispose()

    for item in _run(work()):
        state = "revoked" if item.revoked_at else "active"
        click.echo(f"{item.id}\t{item.prefix}…\t{state}\t{item.name}\t{item.scope}")


@key.command("revoke")
@click.argument("key_id", type=int)
def key_revoke(key_id: int) -> None:
    """Revoke a key (running servers stop accepting it within 5 seconds)."""

    async def work() -> bool:
        settings = load_settings()
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                done = await revoke_key(session, key_id, SystemClock().now())
                await session.commit()
                return done
        finally:
            await engine.dispose()

    if not _run(work()):
        click.echo(f"stadtkern: no active key {key_id}", err=True)
        sys.exit(2)
    click.echo(f"Key {key_id} revoked.")


@sta.command("mqtt")
def mqtt_endpoint() -> None:
    """Serve only the MQTT endpoint, in a process of its own, until stopped.

    With several HTTP workers, run `stadtkern serve --workers N` with STADTKERN_MQTT_IN_HTTP=false and
    this once; STADTKERN_MQTT_BUS_URL (Mosquitto) carries the events of the HTTP workers here.
    """
    import logging
    import signal

    from stadtkern.app import create_app
    from stadtkern.sensorthings.mqtt.lifecycle import start_live

    log = logging.getLogger("stadtkern.sensorthings.mqtt")

    async def work() -> None:
        settings = load_settings()
        if not settings.mqtt_bus_url:
            log.warning(
                "STADTKERN_MQTT_BUS_URL is not set: observations written over HTTP by other processes "
                "will not reach MQTT subscribers"
            )
        app = create_app(settings, run_jobs=False)
        runtime = app.state.runtime
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        live = await start_live(app.state, runtime, required=True)
        try:
            await stop.wait()
        finally:
            await live.stop()
            await runtime.engine.dispose()

    try:
        _run(work())
    except OSError as exc:
        click.echo(f"stadtkern: the MQTT endpoint cannot listen: {exc.strerror}", err=True)
        sys.exit(2)
