"""The simulator's view of the installation: the city's place, the generators and the assets to drive."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any
from zoneinfo import ZoneInfo

import pluggy
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.city import CityProfile
from stadtkern.modules import collect
from stadtkern.simulator.engine import Target, generators_by_type, targets
from stadtkern.simulator.protocol import Generator, SimulationContext

DEFAULT_SEED = 1


def context_for(city: CityProfile, seed: int) -> SimulationContext:
    """Seed, time zone and position (the city centre) from the city profile."""
    lon, lat = city.city.center
    return SimulationContext(seed=seed, timezone=ZoneInfo(city.city.timezone), latitude=lat, longitude=lon)


def registered_generators(pm: pluggy.PluginManager) -> dict[str, Generator]:
    """The generators of the enabled modules (hook ``stadtkern_simulators``) by asset type."""
    hook: Any = pm.hook
    return generators_by_type(collect(hook.stadtkern_simulators()))


async def load_targets(
    sessions: async_sessionmaker[AsyncSession],
    pm: pluggy.PluginManager,
    type_keys: Collection[str] | None = None,
) -> list[Target]:
    """The provisioned assets of the twin that some enabled module simulates."""
    from stadtkern.twin.services import list_assets  # the twin is a module; imported when used

    generators = registered_generators(pm)
    wanted = [key for key in generators if type_keys is None or key in type_keys]
    async with sessions() as session:
        assets = await list_assets(session, type_keys=wanted)
    return targets(assets, generators)
