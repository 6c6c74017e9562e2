"""``stadtkern twin ...``: provision the city's assets and count them."""

from __future__ import annotations

import asyncio
import sys

import click

from stadtkern.config import ConfigError, Settings, load_settings
from stadtkern.core.city import load_city
from stadtkern.core.clock import SystemClock
from stadtkern.core.i18n import gettext as _
from stadtkern.twin.provisioning import ProvisionReport


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        click.echo(f"stadtkern: {exc}", err=True)
        sys.exit(2)


@click.group("twin")
def twin() -> None:
    """The digital twin: the city's assets."""


@twin.command("provision")
@click.option(
    "--scale",
    type=click.FloatRange(min=0.0),
    default=None,
    help="Multiplies the densities of twin.toml (default: its [generation] scale).",
)
def provision_command(scale: float | None) -> None:
    """Create the city's assets and their SensorThings Things and Datastreams (adds only what is missing)."""
    settings = _settings()

    async def run() -> ProvisionReport:
        from stadtkern.db.engine import create_engine, lock_for_writing, session_factory
        from stadtkern.modules import plugin_manager
        from stadtkern.twin.registry import asset_types
        from stadtkern.twin.services import provision_city

        city = load_city(settings.city_dir)
        types = asset_types(plugin_manager(city.modules.enabled))
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                await lock_for_writing(session)
                report = await provision_city(session, city, types, now=SystemClock().now(), scale=scale)
                await session.commit()
                return report
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(run())
    except ConfigError as exc:
        click.echo(f"stadtkern: {exc}", err=True)
        sys.exit(2)
    click.echo(
        _(
            "Anlagen bereitgestellt in %(seconds)s s: %(assets)s neue Anlagen, %(things)s Things, "
            "%(datastreams)s Datastreams, %(owners)s Eigentümer zugeordnet.",
            seconds=f"{report.seconds:.1f}",
            assets=report.assets_added,
            things=report.things_created,
            datastreams=report.datastreams_created,
            owners=report.owners_set,
        )
    )


@twin.command("assets")
def assets_command() -> None:
    """Count the registered assets per type and Stadtbezirk."""
    settings = _settings()

    async def run() -> dict[tuple[str, str], int]:
        from stadtkern.db.engine import create_engine, session_factory
        from stadtkern.twin.services import count_assets

        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                return await count_assets(session)
        finally:
            await engine.dispose()

    counts = asyncio.run(run())
    districts = sorted({district for _type, district in counts})
    types = sorted({type_key for type_key, _district in counts})
    width = max([len(t) for t in types] + [len(_("Typ"))])
    click.echo(" ".join([_("Typ").ljust(width), *[d.rjust(6) for d in districts], _("Summe").rjust(7)]))
    for type_key in types:
        row = [counts.get((type_key, d), 0) for d in districts]
        click.echo(" ".join([type_key.ljust(width), *[str(n).rjust(6) for n in row], str(sum(row)).rjust(7)]))
    column_sums = [sum(counts.get((t, d), 0) for t in types) for d in districts]
    click.echo(
        " ".join(
            [_("Summe").ljust(width), *[str(n).rjust(6) for n in column_sums], str(sum(column_sums)).rjust(7)]
        )
    )
