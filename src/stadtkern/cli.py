"""The ``stadtkern`` command: run, serve, worker, migrate, user; modules add their own commands."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import click

from stadtkern.config import ConfigError, Settings, load_settings

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        _fail(str(exc))


def _fail(message: str) -> NoReturn:
    """Configuration and connection problems end the command with one line, never a traceback."""
    click.echo(f"stadtkern: {message}", err=True)
    sys.exit(2)


def _run_async(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    try:
        return asyncio.run(factory())
    except ConfigError as exc:
        _fail(str(exc))


def _check_database(settings: Settings) -> None:
    from stadtkern.db.engine import check_connection, create_engine

    async def check() -> None:
        engine = create_engine(settings.database_url)
        try:
            await check_connection(engine)
        finally:
            await engine.dispose()

    _run_async(check)


def _migrate(settings: Settings) -> None:
    from stadtkern.core.city import load_city
    from stadtkern.db.migrate import upgrade
    from stadtkern.modules import collect, plugin_manager

    try:
        city = load_city(settings.city_dir)
        pm = plugin_manager(city.modules.enabled)
    except ConfigError as exc:
        _fail(str(exc))
    hook: Any = pm.hook
    upgrade(settings.database_url, collect(hook.stadtkern_migration_dirs()))


def _serve(settings: Settings, workers: int, embedded_worker: bool) -> None:
    import os

    from granian.constants import Interfaces, Loops
    from granian.server import Server

    os.environ["STADTKERN_EMBEDDED_WORKER"] = "true" if embedded_worker else "false"
    click.echo(f"Stadtkern serves http://{settings.host}:{settings.port}  (Ctrl+C stops)")
    server = Server(
        "stadtkern.app:app_from_env",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        # uvloop: asyncpg's protocol and the hand-over of requests from Granian's threads cost less on it
        # (single POSTs about 15 % faster on PostgreSQL, docs/benchmarks.md).
        loop=Loops.uvloop,
        workers=workers,
        factory=True,
        log_access=False,
    )
    server.serve()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Stadtkern: the open smart-city platform. Settings come from STADTKERN_* variables (docs/settings.md)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


@main.command()
def migrate() -> None:
    """Create or update the database schema."""
    settings = _settings()
    _check_database(settings)
    _migrate(settings)
    click.echo("Database schema is up to date.")


@main.command()
@click.option("--port", type=int, default=None, help="HTTP port (default STADTKERN_PORT or 8000).")
@click.option("--host", default=None, help="Listen address (default STADTKERN_HOST or 127.0.0.1).")
def run(port: int | None, host: str | None) -> None:
    """Migrate, load the city profile if the database is empty, and serve everything in one process."""
    import os

    if port is not None:
        os.environ["STADTKERN_PORT"] = str(port)
    if host is not None:
        os.environ["STADTKERN_HOST"] = host
    settings = _settings()
    _check_database(settings)
    _migrate(settings)
    from stadtkern.core.seed import seed

    created = _run_async(lambda: seed(settings))
    if created is not None:
        email, password = created
        click.echo("")
        click.echo("  An admin account was created. Its one-time password is shown only now:")
        click.echo(f"    E-Mail:   {email}")
        click.echo(f"    Password: {password}")
        click.echo("  At first login you set a new password and set up two-factor login.")
        click.echo("")
    _serve(settings, workers=1, embedded_worker=True)


@main.command()
@click.option("--workers", type=int, default=1, show_default=True, help="HTTP worker processes.")
def serve(workers: int) -> None:
    """Serve HTTP only (production: several workers; jobs run in `stadtkern worker`)."""
    settings = _settings()
    _check_database(settings)
    _serve(settings, workers=workers, embedded_worker=settings.embedded_worker and workers == 1)


@main.command()
def worker() -> None:
    """Run background jobs and schedules (mail, exports, clean-up) until stopped."""
    settings = _settings()
    _check_database(settings)

    async def work() -> None:
        from stadtkern.app import create_app
        from stadtkern.core.jobs.runner import JobRunner

        app = create_app(settings, run_jobs=False)
        runner = JobRunner(app.state.runtime)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, runner.stop)
        click.echo(f"Stadtkern worker {runner.name} is running (Ctrl+C stops).")
        try:
            await runner.run_forever()
        finally:
            await app.state.runtime.engine.dispose()

    _run_async(work)


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command("create")
@click.argument("email")
@click.option(
    "--role",
    "roles",
    multiple=True,
    type=click.Choice(["citizen", "clerk", "operator", "admin"]),
    default=("citizen",),
    show_default=True,
    help="Role; repeat for several.",
)
@click.option(
    "--scope", default=None, help="Limit the role: an office key (clerk) or organisation key (operator)."
)
@click.option("--name", "display_name", default="", help="Display name.")
def user_create(email: str, roles: tuple[str, ...], scope: str | None, display_name: str) -> None:
    """Create an account and print its one-time password (changed at first login)."""
    settings = _settings()
    _check_database(settings)
    from stadtkern.core.seed import create_account

    async def create() -> str:
        return await create_account(settings, email, roles, scope, display_name)

    try:
        password = _run_async(create)
    except ValueError as exc:
        _fail(str(exc))
    click.echo(f"Created {email} ({', '.join(roles)}). One-time password: {password}")


def _add_module_commands() -> None:
    """Commands contributed by enabled modules; a broken configuration must not break --help."""
    try:
        from stadtkern.core.city import load_city
        from stadtkern.modules import collect, plugin_manager

        settings = load_settings()
        pm = plugin_manager(load_city(settings.city_dir).modules.enabled)
    except ConfigError:
        return
    hook: Any = pm.hook
    for command in collect(hook.stadtkern_cli_commands()):
        main.add_command(command)


_add_module_commands()
