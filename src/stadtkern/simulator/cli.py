"""``stadtkern simulate``: the living demo city, in real time or as a backfill of a past range.

    stadtkern simulate                                   # real time: every quarter hour (Ctrl+C stops)
    stadtkern simulate --from 2026-10-01 --to 2026-11-01 # backfill as fast as the machine allows

Dates are local dates of the city (midnight in its time zone); times may be given as ISO 8601 with an
offset. The seed comes from ``--seed`` or ``STADTKERN_SIMULATOR_SEED``.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import click

from stadtkern.config import ConfigError, Settings, load_settings
from stadtkern.core.clock import SystemClock
from stadtkern.core.i18n import gettext as _
from stadtkern.simulator.engine import Result, run, windows
from stadtkern.simulator.timegrid import floor_step


def _fail(message: str) -> None:
    click.echo(f"stadtkern: {message}", err=True)
    sys.exit(2)


def parse_moment(text: str, zone: ZoneInfo) -> datetime:
    """A local date (midnight in the city) or an ISO 8601 time with offset, as UTC."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=zone).astimezone(UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            _("%(text)s ist kein Datum (JJJJ-MM-TT) und keine Zeit nach ISO 8601.", text=text)
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


@click.command("simulate")
@click.option("--from", "start", help="Start: a local date (YYYY-MM-DD) or an ISO 8601 time.")
@click.option("--to", "end", help="End, exclusive (default: now).")
@click.option("--seed", type=int, default=None, help="Seed (default: STADTKERN_SIMULATOR_SEED).")
@click.option("--type", "type_keys", multiple=True, help="Only this asset type (repeatable).")
def simulate(start: str | None, end: str | None, seed: int | None, type_keys: tuple[str, ...]) -> None:
    """Simulate the demo city's sensors: in real time, or backfill a range with --from/--to."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc))
        return
    try:
        asyncio.run(_main(settings, start, end, seed, type_keys or None))
    except ConfigError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        click.echo(_("Simulation beendet."))


async def _main(
    settings: Settings,
    start: str | None,
    end: str | None,
    seed: int | None,
    type_keys: tuple[str, ...] | None,
) -> None:
    from stadtkern.core.city import load_city
    from stadtkern.db.engine import create_engine, session_factory
    from stadtkern.modules import collect, plugin_manager
    from stadtkern.simulator.city import context_for, load_targets
    from stadtkern.simulator.realtime import RealTime
    from stadtkern.simulator.settings import seed as configured_seed

    city = load_city(settings.city_dir)
    pm = plugin_manager(city.modules.enabled)
    collect(pm.hook.stadtkern_models())  # the tables of the enabled modules join the metadata
    context = context_for(city, configured_seed(settings) if seed is None else seed)
    clock = SystemClock()
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        if start is None:
            if end is not None:
                raise click.UsageError(_("--to braucht --from."))
            click.echo(_("Die Stadt lebt: alle 15 Minuten neue Messwerte (Strg+C beendet)."))
            await RealTime(sessions, pm, context, clock, type_keys).forever()
            return
        begin = parse_moment(start, context.timezone)
        finish = parse_moment(end, context.timezone) if end else floor_step(clock.now())
        if finish <= begin:
            raise click.UsageError(_("--to muss nach --from liegen."))
        chosen = await load_targets(sessions, pm, type_keys)
        if not chosen:
            click.echo(
                _(
                    "Keine Anlagen mit Datenströmen gefunden: zuerst die Stadt anlegen (stadtkern twin provision)."
                ),
                err=True,
            )
            sys.exit(1)
        steps = len(chosen) * len(windows(begin, finish))
        with click.progressbar(length=steps, label=_("Simuliere"), show_eta=True) as bar:
            result = await run(sessions, chosen, begin, finish, context, now=clock.now, progress=bar.update)
        _report(result)
    finally:
        await engine.dispose()


def _report(result: Result) -> None:
    click.echo(
        _(
            "%(count)s Beobachtungen geschrieben in %(seconds)s s (%(rate)s je Sekunde); %(skipped)s schon "
            "vorhanden.",
            count=f"{result.observations:,}".replace(",", "."),
            seconds=f"{result.seconds:.1f}",
            rate=f"{result.rate:,.0f}".replace(",", "."),
            skipped=f"{result.skipped:,}".replace(",", "."),
        )
    )
    for type_key, count in sorted(result.by_type.items()):
        click.echo(f"  {type_key}: {count:,}".replace(",", "."))
