"""``stadtkern mobility ...``: timetable import (GTFS) and realtime updates (GTFS-Realtime).

``stadtkern mobility import FEED.zip|DIR`` prints every problem on its own line (file, row, field) and
exits with 2 when the feed has errors; on success it prints a summary. Nothing is written on errors.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stadtkern.config import ConfigError, Settings, load_settings
from stadtkern.core.clock import SystemClock
from stadtkern.core.i18n import gettext as _
from stadtkern.mobility.gtfs import read_feed

if TYPE_CHECKING:
    from stadtkern.mobility.realtime import RealtimeResult


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(f"stadtkern: {exc}", err=True)
        sys.exit(2)


@click.group("mobility")
def mobility() -> None:
    """Timetable, journeys and tickets."""


@mobility.command("import")
@click.argument("feed", type=click.Path(exists=True, path_type=Path))
@click.option("--check", is_flag=True, help="Only validate the feed; load nothing.")
def import_command(feed: Path, check: bool) -> None:
    """Validate a GTFS feed (zip or folder) and load it as the timetable."""
    parsed = read_feed(feed)
    for problem in parsed.problems:
        click.echo(str(problem), err=problem.severity == "error")
    if parsed.errors:
        click.echo(
            _(
                "Nicht geladen: %(errors)s Fehler, %(warnings)s Warnungen.",
                errors=len(parsed.errors),
                warnings=len(parsed.warnings),
            ),
            err=True,
        )
        sys.exit(2)
    if check:
        click.echo(_("Gültig: %(warnings)s Warnungen.", warnings=len(parsed.warnings)))
        return
    settings = _settings()

    async def load() -> tuple[int, float]:
        from stadtkern.db.engine import create_engine, session_factory
        from stadtkern.mobility.importer import load_feed

        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session, session.begin():
                result = await load_feed(session, parsed, SystemClock(), source=str(feed))
                return result.feed_id, result.seconds
        finally:
            await engine.dispose()

    feed_id, seconds = asyncio.run(load())
    counts = parsed.counts()
    click.echo(
        _(
            "Fahrplan %(name)s geladen (Feed %(id)s) in %(seconds)s s: %(stops)s Haltestellen, %(routes)s "
            "Linien, %(trips)s Fahrten, %(stop_times)s Halte; gültig %(start)s bis %(end)s; "
            "%(warnings)s Warnungen.",
            name=parsed.feed_info.get("publisher_name") or parsed.name,
            id=feed_id,
            seconds=f"{seconds:.1f}",
            stops=counts["stops.txt"],
            routes=counts["routes.txt"],
            trips=counts["trips.txt"],
            stop_times=counts["stop_times.txt"],
            start=parsed.valid_from.isoformat() if parsed.valid_from else "–",
            end=parsed.valid_to.isoformat() if parsed.valid_to else "–",
            warnings=len(parsed.warnings),
        )
    )


@mobility.command("realtime")
@click.argument("source")
def realtime_command(source: str) -> None:
    """Apply GTFS-Realtime TripUpdates from a file or an http(s) URL."""
    from stadtkern.mobility.errors import MobilityError

    settings = _settings()

    async def apply() -> RealtimeResult:
        from stadtkern.db.engine import create_engine, session_factory
        from stadtkern.mobility import realtime

        data = await realtime.read_source(source)
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session, session.begin():
                return await realtime.apply(session, data, SystemClock())
        finally:
            await engine.dispose()

    try:
        result = asyncio.run(apply())
    except MobilityError as exc:
        click.echo(f"stadtkern: {exc.message}", err=True)
        sys.exit(2)
    click.echo(
        _(
            "Echtzeitdaten übernommen: %(trips)s Fahrten (%(canceled)s ausgefallen), %(stops)s Halte-Updates.",
            trips=result.trips,
            canceled=result.canceled,
            stops=result.stop_updates,
        )
    )
