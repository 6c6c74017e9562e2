"""The digital twin as a module: the asset registry, its tables, its CLI and the first-start provisioning."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from stadtkern.hookspecs import hookimpl
from stadtkern.twin import cli, models

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"


@hookimpl
def stadtkern_models() -> Sequence[Any]:
    return [models]


@hookimpl
def stadtkern_migration_dirs() -> Sequence[Path]:
    return [MIGRATIONS]


@hookimpl
def stadtkern_cli_commands() -> Sequence[click.Command]:
    return [cli.twin]


@hookimpl
async def stadtkern_seed(session: Any, city: Any) -> None:
    """First start: provision the demo city (an empty registry only; `stadtkern twin provision` tops up)."""
    from stadtkern.core.clock import SystemClock  # the seed hook gets no clock; first start is "now"
    from stadtkern.db.engine import lock_for_writing
    from stadtkern.modules import plugin_manager
    from stadtkern.twin.registry import asset_types
    from stadtkern.twin.services import has_assets, provision_city

    types = asset_types(plugin_manager(city.modules.enabled))
    if not types:
        return
    if not session.in_transaction():
        await lock_for_writing(session)
    if await has_assets(session):
        return
    await provision_city(session, city, types, now=SystemClock().now())
