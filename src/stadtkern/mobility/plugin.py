"""Mobility as a module: timetable (GTFS), journey planner, VRR fares and tickets verified offline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from litestar.types import ControllerRouterHandler

from stadtkern.config import Settings, SettingSpec
from stadtkern.contracts import JobKind, NavEntry, PeriodicJob, PrivacyProvider, ServiceEntry
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.hookspecs import hookimpl
from stadtkern.mobility import (
    cli,
    importer,
    jobs,
    journey_views,
    models,
    prebuild,
    privacy,
    ticket_cli,
    ticket_models,
    ticket_views,
    tickets,
)

if TYPE_CHECKING:
    from stadtkern.web.runtime import Runtime

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@hookimpl
def stadtkern_models() -> Sequence[Any]:
    return [models, ticket_models]


@hookimpl
def stadtkern_migration_dirs() -> Sequence[Path]:
    return [MIGRATIONS]


@hookimpl
def stadtkern_template_dirs() -> Sequence[Path]:
    return [TEMPLATES]


@hookimpl
def stadtkern_routes() -> Sequence[ControllerRouterHandler]:
    return [*journey_views.ROUTES, *ticket_views.ROUTES]


cli.mobility.add_command(ticket_cli.sepa_export)
cli.mobility.add_command(ticket_cli.ticket_key)


@hookimpl
def stadtkern_cli_commands() -> Sequence[click.Command]:
    return [cli.mobility]


@hookimpl
def stadtkern_privacy_providers() -> Sequence[PrivacyProvider]:
    return [privacy.TicketPrivacy()]


@hookimpl
def stadtkern_job_kinds() -> Sequence[JobKind]:
    return [*ticket_cli.JOB_KINDS, *jobs.JOB_KINDS]


@hookimpl
def stadtkern_periodic_jobs(settings: Settings) -> Sequence[PeriodicJob]:
    return [*ticket_cli.PERIODIC_JOBS, *jobs.periodic_jobs(settings)]


@hookimpl
def stadtkern_lifespans() -> Sequence[Callable[[Any, Runtime], AbstractAsyncContextManager[None]]]:
    return [prebuild.lifespan]


@hookimpl
def stadtkern_settings() -> Sequence[SettingSpec]:
    return [
        SettingSpec(
            tickets.KEY_SETTING,
            None,
            "PEM file with the Ed25519 key that signs tickets. Default: `DATA_DIR/mobility/"
            "ticket-signing-key.pem`, made on first use in development; production needs it to exist "
            "(`stadtkern mobility ticket-key`).",
        ),
        SettingSpec(
            jobs.URL_SETTING,
            None,
            "GTFS-Realtime TripUpdates to poll (http(s) URL or file). Unset: no polling; "
            "`stadtkern mobility realtime` still applies a file or URL by hand.",
        ),
        SettingSpec(
            jobs.INTERVAL_SETTING,
            str(jobs.DEFAULT_INTERVAL),
            "Seconds between two polls of `STADTKERN_MOBILITY_REALTIME_URL`.",
        ),
        SettingSpec(
            jobs.MAX_AGE_SETTING,
            str(jobs.DEFAULT_MAX_AGE),
            "A realtime message whose header time is older than this many seconds is refused as stale "
            "(logged; the last good data stays).",
        ),
    ]


@hookimpl
def stadtkern_nav_entries() -> Sequence[NavEntry]:
    return [
        NavEntry(_l("Fahrplan"), "/fahrplan", order=30),
        NavEntry(_l("Tickets"), "/tickets", order=35),
    ]


@hookimpl
def stadtkern_services() -> Sequence[ServiceEntry]:
    return [
        ServiceEntry(
            "mobility",
            _l("Fahrplan und Tickets"),
            _l("Verbindungen in Duisburg und im VRR planen, den Preis sehen und ein Ticket kaufen."),
            "/fahrplan",
            order=20,
        )
    ]


@hookimpl
async def stadtkern_seed(session: Any, city: Any) -> None:
    from stadtkern.core.clock import SystemClock  # the seed hook gets no clock; first start is "now"

    await importer.seed(session, Path(city.directory) / "gtfs", SystemClock())
