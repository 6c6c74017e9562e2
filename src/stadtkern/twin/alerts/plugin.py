"""Alerts as a module: rules, the periodic evaluation, the inbox and the on-call rota."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litestar.types import ControllerRouterHandler

from stadtkern.config import Settings, SettingSpec
from stadtkern.contracts import JobKind, NavEntry, PeriodicJob, PrivacyProvider
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.hookspecs import hookimpl
from stadtkern.twin.alerts import access, jobs, models, privacy, views

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
    return views.ROUTES


@hookimpl
def stadtkern_nav_entries() -> Sequence[NavEntry]:
    return [NavEntry(_l("Alarme"), views.BASE, order=72, roles=frozenset(access.STAFF_ROLES))]


@hookimpl
def stadtkern_job_kinds() -> Sequence[JobKind]:
    return jobs.JOB_KINDS


@hookimpl
def stadtkern_periodic_jobs(settings: Settings) -> Sequence[PeriodicJob]:
    return jobs.periodic_jobs(settings)


@hookimpl
def stadtkern_privacy_providers() -> Sequence[PrivacyProvider]:
    return [privacy.AlertPrivacy()]


@hookimpl
def stadtkern_settings() -> Sequence[SettingSpec]:
    return [
        SettingSpec(
            jobs.INTERVAL_SETTING,
            str(jobs.DEFAULT_INTERVAL),
            "Seconds between two evaluations of the alert rules (job `alerts.evaluate`; at least 10).",
        )
    ]


@hookimpl
async def stadtkern_seed(session: Any, city: Any) -> None:
    """First start (and every start): add the default rules that are not there yet."""
    from stadtkern.core.clock import SystemClock  # the seed hook gets no clock; first start is "now"
    from stadtkern.db.engine import lock_for_writing
    from stadtkern.modules import plugin_manager
    from stadtkern.twin.alerts.rules import seed_default_rules
    from stadtkern.twin.registry import asset_types

    types = asset_types(plugin_manager(city.modules.enabled))
    if not types:
        return
    if not session.in_transaction():
        await lock_for_writing(session)
    await seed_default_rules(session, types, now=SystemClock().now())
