"""Twin fixtures: the Duisburg profile and the asset types of its enabled modules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar

from stadtkern.contracts import AssetType
from stadtkern.core.city import CityProfile, load_city
from stadtkern.modules import plugin_manager
from stadtkern.twin.profile import TwinProfile, load_twin_profile
from stadtkern.twin.registry import asset_types
from stadtkern.web.runtime import Runtime

REPO = Path(__file__).resolve().parents[2]
DUISBURG = REPO / "cities" / "duisburg"


@pytest.fixture(scope="session")
def duisburg() -> CityProfile:
    return load_city(DUISBURG)


@pytest.fixture(scope="session")
def twin_profile(duisburg: CityProfile) -> TwinProfile:
    return load_twin_profile(duisburg)


@pytest.fixture(scope="session")
def types(duisburg: CityProfile) -> dict[str, AssetType]:
    return asset_types(plugin_manager(duisburg.modules.enabled))


@pytest.fixture
async def rt(app: Litestar) -> AsyncIterator[Runtime]:
    """The app's runtime for service-level tests; its engine is closed afterwards."""
    runtime: Runtime = app.state.runtime
    yield runtime
    await runtime.engine.dispose()
