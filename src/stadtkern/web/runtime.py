"""Everything a request needs from the running installation, kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy
from jinja2 import Environment
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from stadtkern.config import Settings
from stadtkern.contracts import ConsentPurpose, JobKind, NavEntry, PrivacyProvider, ServiceEntry
from stadtkern.core.city import CityProfile
from stadtkern.core.clock import Clock
from stadtkern.modules import collect

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    pm: pluggy.PluginManager
    city: CityProfile
    clock: Clock
    nav: list[NavEntry] = field(default_factory=list)
    services: list[ServiceEntry] = field(default_factory=list)
    privacy_providers: list[PrivacyProvider] = field(default_factory=list)
    consent_purposes: list[ConsentPurpose] = field(default_factory=list)
    job_kinds: dict[str, JobKind] = field(default_factory=dict)
    # The Jinja2 environment (pages and mail templates); set by the app factory.
    templates: Environment | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        pm: pluggy.PluginManager,
        city: CityProfile,
        clock: Clock,
    ) -> Runtime:
        hook: Any = pm.hook
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            pm=pm,
            city=city,
            clock=clock,
            nav=sorted(collect(hook.stadtkern_nav_entries()), key=lambda entry: entry.order),
            services=sorted(collect(hook.stadtkern_services()), key=lambda entry: entry.order),
            privacy_providers=collect(hook.stadtkern_privacy_providers()),
            consent_purposes=collect(hook.stadtkern_consent_purposes()),
            job_kinds={kind.name: kind for kind in collect(hook.stadtkern_job_kinds())},
        )


def runtime_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Runtime:
    rt: Runtime = connection.app.state.runtime
    return rt
