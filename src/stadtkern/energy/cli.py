"""``stadtkern energy ...``: day-ahead prices (SMARD import, demo prices) and meter activation codes.

``stadtkern energy import-prices FILE.csv`` checks the whole file first and writes nothing when it has a
problem (row and column in the message, exit code 2). ``stadtkern energy activation-code METER_CODE``
prints a new one-time code for the letter to the household (shown once; only its hash is stored).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import click
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.config import ConfigError, Settings, load_settings
from stadtkern.core.city import load_city
from stadtkern.core.clock import SystemClock
from stadtkern.core.i18n import gettext as _
from stadtkern.energy import activation, demo_prices, prices, smard
from stadtkern.energy.tariffs import tariffs_for

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(f"stadtkern: {exc}", err=True)
        sys.exit(2)


def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        from stadtkern.db.engine import create_engine, lock_for_writing, session_factory

        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session, session.begin():
                await lock_for_writing(session)
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _parse_when(text: str, timezone: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(_("%(text)s ist kein Datum (JJJJ-MM-TT).", text=text)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


@click.group("energy")
def energy() -> None:
    """Electricity: day-ahead prices, meter activation, tariff check."""


@energy.command("import-prices")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--zone", default=None, help="Bidding zone (default: the one in tariffs.toml).")
def import_prices(file: Path, zone: str | None) -> None:
    """Import SMARD's day-ahead price CSV (format: docs/energy.md) into the price Datastream."""
    settings = _settings()
    try:
        book = tariffs_for(settings.city_dir)
        city = load_city(settings.city_dir)
        rows = smard.parse_smard_csv(
            file.read_bytes(), bidding_zone=zone or book.prices.bidding_zone, timezone=city.city.timezone
        )
    except (ConfigError, smard.PriceFileError) as exc:
        click.echo(f"{file}: {exc}", err=True)
        sys.exit(2)
    now = SystemClock().now()
    written = _in_transaction(
        settings, lambda session: prices.import_rows(session, book, rows, now=now, center=city.city.center)
    )
    click.echo(
        _(
            "%(stored)s Preise gespeichert, %(kept)s waren schon vorhanden (%(first)s bis %(last)s).",
            stored=written.stored,
            kept=written.kept,
            first=rows[0].start.isoformat(),
            last=rows[-1].end.isoformat(),
        )
    )


@energy.command("demo-prices")
@click.option("--from", "start", default=None, help="First local date (default: 366 days ago).")
@click.option(
    "--to", "end", default=None, help="Local date to stop before (default: the day after tomorrow)."
)
@click.option("--seed", type=int, default=1, show_default=True)
def demo_prices_command(start: str | None, end: str | None, seed: int) -> None:
    """Write deterministic demo day-ahead prices (not market data) for the simulated city."""
    settings = _settings()
    book = tariffs_for(settings.city_dir)
    city = load_city(settings.city_dir)
    now = SystemClock().now()
    first, last = demo_prices.demo_range(now, city.city.timezone)
    if start:
        first = _parse_when(start, city.city.timezone)
    if end:
        last = _parse_when(end, city.city.timezone)
    try:
        rows = demo_prices.demo_prices(first, last, seed=seed, timezone=city.city.timezone)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    written = _in_transaction(
        settings, lambda session: prices.import_rows(session, book, rows, now=now, center=city.city.center)
    )
    click.echo(
        _(
            "%(stored)s Demo-Preise gespeichert, %(kept)s waren schon vorhanden.",
            stored=written.stored,
            kept=written.kept,
        )
    )


@energy.command("activation-code")
@click.argument("meter_code")
def activation_code(meter_code: str) -> None:
    """Make a one-time activation code for a household meter (prints it once)."""
    settings = _settings()
    now = SystemClock().now()
    try:
        issued = _in_transaction(
            settings,
            lambda session: activation.issue_code(
                session, meter_code, secret_key=settings.secret_key, now=now, created_by=None
            ),
        )
    except activation.ActivationError as exc:
        click.echo(str(exc.message), err=True)
        sys.exit(2)
    click.echo(
        _(
            "Aktivierungscode für %(meter)s: %(code)s (gültig bis %(until)s)",
            meter=meter_code,
            code=issued.code,
            until=issued.expires_at.astimezone(ZoneInfo("Europe/Berlin")).strftime("%d.%m.%Y"),
        )
    )


def _add_grid_commands() -> None:
    from stadtkern.energy.grid.cli import grid_studies, grid_study

    energy.add_command(grid_study)
    energy.add_command(grid_studies)


_add_grid_commands()
