"""Two writers storing the first observation of a Thing at the same time share one generated feature."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.ingest import feature_for_thing
from tests.sensorthings.conftest import THING, create


async def test_concurrent_first_observations_share_one_generated_feature(
    sta: AsyncTestClient[Any], sta_app: Litestar, db_kind: str
) -> None:
    if db_kind != "postgresql":
        pytest.skip("SQLite has one writer at a time: the two transactions cannot overlap there")
    thing = await create(sta, "Things", THING)
    sessions = sta_app.state.runtime.sessions
    async with sessions() as first, sessions() as second:
        await first.begin()
        mine = await feature_for_thing(first, thing)  # inserted, not committed yet
        # The second writer does not see the uncommitted feature; its insert waits on the unique key.
        theirs = asyncio.create_task(feature_for_thing(second, thing))
        await asyncio.sleep(0.3)
        assert not theirs.done()
        await first.commit()
        assert await asyncio.wait_for(theirs, timeout=10) == mine
        await second.commit()
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(m.FEATURES)
            .where(m.FEATURES.c.generated_from_location_id.is_not(None))
        )
    assert count == 1
