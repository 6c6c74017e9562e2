"""The app's runtime for engine tests, its engine closed afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar

from stadtkern.web.runtime import Runtime


@pytest.fixture
async def sim_runtime(app: Litestar) -> AsyncIterator[Runtime]:
    runtime: Runtime = app.state.runtime
    yield runtime
    await runtime.engine.dispose()
