"""Appointment fixtures: the app's runtime with the Duisburg offices and services loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from stadtkern.appointments import profile
from stadtkern.web.runtime import Runtime


@pytest.fixture
async def seeded(runtime: Runtime) -> AsyncIterator[Runtime]:
    async with runtime.sessions() as session, session.begin():
        await profile.seed(session, runtime.city)
    yield runtime
    # Tests without the client fixture (which closes it) must not leave the app's pool open.
    await runtime.engine.dispose()


@pytest.fixture
def rt(seeded: Runtime) -> Runtime:
    """The same, under the short name the rule tests use."""
    return seeded
