"""``stadtkern mobility sepa-export`` and ``stadtkern mobility ticket-key``; the renewal job.

Registered by plugin.py: ``cli.mobility.add_command(ticket_cli.sepa_export)`` and
``cli.mobility.add_command(ticket_cli.ticket_key)``; job kinds ``ticket_cli.JOB_KINDS`` and periodic jobs
``ticket_cli.PERIODIC_JOBS``.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click

from stadtkern.config import ConfigError, Settings, load_settings
from stadtkern.contracts import JobKind, PeriodicJob
from stadtkern.core.city import load_city
from stadtkern.core.clock import SystemClock
from stadtkern.core.jobs.context import JobContext
from stadtkern.mobility import tickets
from stadtkern.mobility.fares import fares_for

SEPA_DIR = Path("mobility") / "sepa"


def _fail(message: str) -> None:
    click.echo(f"stadtkern: {message}", err=True)
    sys.exit(2)


async def export(settings: Settings, out_dir: Path | None = None) -> tickets.Export | None:
    """Renew subscriptions, then write the pain.008 file of due payments (None: nothing due)."""
    from stadtkern.db.engine import create_engine, session_factory

    city = load_city(settings.city_dir)
    zone = ZoneInfo(city.city.timezone)
    fares = fares_for(settings.city_dir)
    engine = create_engine(settings.database_url)
    now = SystemClock().now()
    try:
        async with session_factory(engine)() as session, session.begin():
            provider = tickets.StadtkernProvider(fares, tickets.signer_for(settings), zone)
            await provider.renew(session, now=now)
            return await tickets.export_due_payments(
                session, fares, out_dir or settings.data_dir / SEPA_DIR, now=now, zone=zone
            )
    finally:
        await engine.dispose()


@click.command("sepa-export")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the file (default: DATA_DIR/mobility/sepa).",
)
def sepa_export(out_dir: Path | None) -> None:
    """Write the SEPA direct-debit file (pain.008) of all due ticket payments for the bank."""
    try:
        settings = load_settings()
        result = asyncio.run(export(settings, out_dir))
    except ConfigError as exc:
        _fail(str(exc))
        return
    if result is None:
        click.echo("No payments due: no file written.")
    else:
        click.echo(f"Wrote {result.path} ({result.count} debits, {result.total_text}).")


@click.command("ticket-key")
def ticket_key() -> None:
    """Create the Ed25519 key that signs tickets (once; refuses to overwrite) and print its public key."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc))
        return
    path = tickets.key_path(settings)
    try:
        tickets.create_key_file(path)
    except FileExistsError:
        _fail(f"{path} exists already; a new key would make every sold ticket invalid.")
        return
    signer = tickets.signer_for(settings)
    click.echo(f"Wrote {path}. Public key (id {signer.key_id}): {signer.public_key_b64}")


async def renew_subscriptions(context: JobContext, payload: dict[str, Any]) -> None:
    """Issue and charge this month's Deutschlandticket of every running subscription."""
    rt = context.runtime
    provider = tickets.StadtkernProvider(
        fares_for(rt.settings.city_dir), tickets.signer_for(rt.settings), ZoneInfo(rt.city.city.timezone)
    )
    async with rt.sessions() as session, session.begin():
        await provider.renew(session, now=rt.clock.now())


JOB_KINDS = [JobKind("mobility.renew_subscriptions", renew_subscriptions, max_attempts=5)]
PERIODIC_JOBS = [PeriodicJob("mobility.renew_subscriptions", every=timedelta(hours=1))]
