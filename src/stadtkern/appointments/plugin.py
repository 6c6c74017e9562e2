"""Behördentermine as a module: tables, migrations, seed data, jobs, pages, back office and JSON API."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litestar.types import ControllerRouterHandler

from stadtkern.appointments import api, backoffice_views, jobs, models, privacy, profile, views
from stadtkern.contracts import JobKind, NavEntry, PeriodicJob, PrivacyProvider, ServiceEntry
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.hookspecs import hookimpl

MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@hookimpl
def stadtkern_models() -> Sequence[Any]:
    return [models]


@hookimpl
def stadtkern_migration_dirs() -> Sequence[Path]:
    return [MIGRATIONS]


@hookimpl
def stadtkern_template_dirs() -> Sequence[Path]:
    return [TEMPLATES]


@hookimpl
def stadtkern_routes() -> Sequence[ControllerRouterHandler]:
    return [*views.ROUTES, *backoffice_views.ROUTES, *api.ROUTES]


@hookimpl
def stadtkern_nav_entries() -> Sequence[NavEntry]:
    return [
        NavEntry(_l("Termine"), "/termine", order=20),
        NavEntry(
            _l("Terminverwaltung"), "/verwaltung/termine", order=60, roles=frozenset({"clerk", "admin"})
        ),
    ]


@hookimpl
def stadtkern_services() -> Sequence[ServiceEntry]:
    return [
        ServiceEntry(
            "appointments",
            _l("Termin im Bürgerservice"),
            _l("Personalausweis, Reisepass, Anmeldung, Fahrzeugzulassung: freie Zeiten sehen und buchen."),
            "/termine",
            order=10,
        )
    ]


@hookimpl
def stadtkern_privacy_providers() -> Sequence[PrivacyProvider]:
    return [privacy.AppointmentPrivacy()]


@hookimpl
def stadtkern_job_kinds() -> Sequence[JobKind]:
    return jobs.JOB_KINDS


@hookimpl
def stadtkern_periodic_jobs() -> Sequence[PeriodicJob]:
    return jobs.PERIODIC_JOBS


@hookimpl
async def stadtkern_seed(session: Any, city: Any) -> None:
    await profile.seed(session, city)
