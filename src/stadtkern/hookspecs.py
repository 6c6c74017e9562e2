"""The module contract: every extension point a Stadtkern module can implement.

Each hook is documented here and in ``docs/hooks.md`` (a test checks that the two agree). The core's own
features are modules on these same hooks. A module is a Python module (or object) with functions named
like these hooks, decorated with ``stadtkern.hookimpl``, announced through the entry-point group
``stadtkern.modules`` and switched on in the city profile (``[modules] enabled``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from litestar.types import ControllerRouterHandler

    from stadtkern.config import Settings, SettingSpec
    from stadtkern.contracts import (
        AssetType,
        ConsentPurpose,
        JobKind,
        NavEntry,
        PeriodicJob,
        PrivacyProvider,
        ServiceEntry,
    )
    from stadtkern.web.runtime import Runtime

PROJECT = "stadtkern"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def stadtkern_routes() -> Sequence[ControllerRouterHandler]:
    """Route handlers, controllers or routers the module serves (pages and JSON APIs)."""
    raise NotImplementedError


@hookspec
def stadtkern_template_dirs() -> Sequence[Path]:
    """Folders with the module's Jinja2 templates (put them under ``templates/<module>/``)."""
    raise NotImplementedError


@hookspec
def stadtkern_models() -> Sequence[Any]:
    """The module's SQLAlchemy model classes or tables (imported so that they join the metadata)."""
    raise NotImplementedError


@hookspec
def stadtkern_migration_dirs() -> Sequence[Path]:
    """Alembic version folders holding the module's migrations (a branch of its own)."""
    raise NotImplementedError


@hookspec
def stadtkern_nav_entries() -> Sequence[NavEntry]:
    """Links for the main navigation, filtered by role when rendered."""
    raise NotImplementedError


@hookspec
def stadtkern_services() -> Sequence[ServiceEntry]:
    """Citizen services shown on the home page, each with its human contact from the city profile."""
    raise NotImplementedError


@hookspec
def stadtkern_privacy_providers() -> Sequence[PrivacyProvider]:
    """Export and erasure of the module's personal data for the privacy center ("Meine Daten").

    Every table marked ``info={"personal": True}`` must be listed in some provider's ``tables``.
    """
    raise NotImplementedError


@hookspec
def stadtkern_consent_purposes() -> Sequence[ConsentPurpose]:
    """Consents the module asks for; citizens see and withdraw them in the privacy center."""
    raise NotImplementedError


@hookspec
def stadtkern_settings() -> Sequence[SettingSpec]:
    """Extra ``STADTKERN_*`` settings the module reads (documented in docs/settings.md)."""
    raise NotImplementedError


@hookspec
def stadtkern_cli_commands() -> Sequence[click.Command]:
    """Sub-commands added to the ``stadtkern`` command line."""
    raise NotImplementedError


@hookspec
def stadtkern_job_kinds() -> Sequence[JobKind]:
    """Background job kinds the module runs on the durable job queue."""
    raise NotImplementedError


@hookspec
def stadtkern_periodic_jobs(settings: Settings) -> Sequence[PeriodicJob]:
    """Jobs the scheduler enqueues at fixed intervals (retention, reminders, clean-up, feed polling).

    ``settings`` lets a job or its interval depend on configuration; an implementation that does not need
    it leaves the argument out (pluggy passes only the arguments an implementation names).
    """
    raise NotImplementedError


@hookspec
def stadtkern_lifespans() -> Sequence[Callable[[Any, Runtime], AbstractAsyncContextManager[None]]]:
    """Background work of the module in every web process while the app runs.

    Each item is called with the app and the runtime when the app starts and returns an async context
    manager, entered at start-up and left at shutdown (before the database engine closes). Work that must
    run once per installation belongs in jobs; this is for per-process state, such as warming a cache.
    """
    raise NotImplementedError


@hookspec
def stadtkern_simulators() -> Sequence[Any]:
    """Generators of simulated sensor data for ``stadtkern simulate`` (the living demo city)."""
    raise NotImplementedError


@hookspec
def stadtkern_asset_types() -> Sequence[AssetType]:
    """Kinds of city assets the module brings (they become SensorThings Things and Datastreams)."""
    raise NotImplementedError


@hookspec
def stadtkern_seed(session: Any, city: Any) -> None:
    """Load the module's part of the city profile into an empty database (``stadtkern run``).

    Async implementations are awaited; ``session`` is an ``AsyncSession`` inside a transaction.
    """
    raise NotImplementedError
