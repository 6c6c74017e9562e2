"""The energy module: household meters and substations for the twin (asset types, simulator), the
household's energy pages (meter activation, consumption, tariff check), day-ahead prices and the admin
page for activation codes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from litestar.types import ControllerRouterHandler

from stadtkern.config import Settings
from stadtkern.contracts import AssetType, JobKind, NavEntry, PeriodicJob, PrivacyProvider, ServiceEntry
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.energy import cli, jobs, models, privacy
from stadtkern.energy.asset_types import ASSET_TYPES
from stadtkern.hookspecs import hookimpl

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@hookimpl
def stadtkern_asset_types() -> Sequence[AssetType]:
    return ASSET_TYPES


@hookimpl
def stadtkern_simulators() -> Sequence[Any]:
    from stadtkern.energy import simulation  # imported on use: the simulator's libraries load only then

    return list(simulation.GENERATORS)


@hookimpl
def stadtkern_models() -> Sequence[Any]:
    from stadtkern.energy.grid import models as grid_models

    return [models, grid_models]


@hookimpl
def stadtkern_migration_dirs() -> Sequence[Path]:
    return [MIGRATIONS]


@hookimpl
def stadtkern_template_dirs() -> Sequence[Path]:
    return [TEMPLATES]


@hookimpl
def stadtkern_routes() -> Sequence[ControllerRouterHandler]:
    from stadtkern.energy import admin_views, views
    from stadtkern.energy.grid import views as grid_views

    return [*views.ROUTES, *admin_views.ROUTES, *grid_views.ROUTES]


@hookimpl
def stadtkern_cli_commands() -> Sequence[click.Command]:
    return [cli.energy]


@hookimpl
def stadtkern_privacy_providers() -> Sequence[PrivacyProvider]:
    return [privacy.EnergyPrivacy()]


@hookimpl
def stadtkern_job_kinds() -> Sequence[JobKind]:
    from stadtkern.energy.grid import jobs as grid_jobs

    return [*jobs.JOB_KINDS, *grid_jobs.JOB_KINDS]


@hookimpl
def stadtkern_periodic_jobs(settings: Settings) -> Sequence[PeriodicJob]:
    from stadtkern.energy.grid import jobs as grid_jobs
    from stadtkern.simulator.settings import simulator_in_app

    # Demo prices follow the simulated city: only where the app keeps the demo city alive.
    demo = [PeriodicJob(jobs.DEMO_PRICES, timedelta(hours=1))] if simulator_in_app(settings) else []
    return [*demo, *grid_jobs.PERIODIC_JOBS]


@hookimpl
def stadtkern_nav_entries() -> Sequence[NavEntry]:
    return [
        NavEntry(_l("Strom"), "/energie", order=40),
        NavEntry(_l("Zähler-Aktivierung"), "/verwaltung/energie", order=90, roles=frozenset({"admin"})),
        NavEntry(
            _l("Netzanalyse"), "/verwaltung/energie/netz", order=91, roles=frozenset({"operator", "admin"})
        ),
    ]


@hookimpl
def stadtkern_services() -> Sequence[ServiceEntry]:
    return [
        ServiceEntry(
            "energy",
            _l("Stromverbrauch und Tarifcheck"),
            _l("Den eigenen Stromverbrauch ansehen und prüfen, welcher Stromtarif dazu am besten passt."),
            "/energie",
            order=30,
        )
    ]
