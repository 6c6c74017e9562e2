"""Console fixtures: a small provisioned demo city, staff of different organisations, readings written
through the SensorThings ingest (the path the simulator and sensors use)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import select

from stadtkern.contracts import AssetType
from stadtkern.core.accounts.models import User
from stadtkern.sensorthings import models as sta
from stadtkern.sensorthings.ingest import insert_columns
from stadtkern.twin import services as twin
from stadtkern.twin.models import ASSET_DATASTREAMS, ASSETS
from stadtkern.web.runtime import Runtime
from tests.support.accounts import make_user

# A small scale keeps each test fast; the 12 hotspots and 3 demo households are always there.
SCALE = 0.05
OWNER_EMAIL = "haushalt1@stadtkern.localhost"


@dataclass
class City:
    rt: Runtime
    types: dict[str, AssetType]
    owner: User
    admin: User
    stadtwerke: User  # operator scoped to Stadtwerke Duisburg
    stadt: User  # operator scoped to Stadt Duisburg
    citizen: User


async def write(rt: Runtime, code: str, key: str, points: Sequence[tuple[datetime, float]]) -> None:
    """Readings for one Datastream of an asset, through the ingest (keeps the latest-value table)."""
    async with rt.sessions() as session, session.begin():
        datastream_id = await stream_id(rt, code, key)
        await insert_columns(
            session,
            {
                "phenomenon_time": [t for t, _v in points],
                "result_number": [float(v) for _t, v in points],
                "result_type": [sta.RESULT_FLOAT] * len(points),
            },
            datastream_id=datastream_id,
            now=rt.clock.now(),
        )


async def stream_id(rt: Runtime, code: str, key: str) -> int:
    async with rt.sessions() as session:
        found = await session.scalar(
            select(ASSET_DATASTREAMS.c.datastream_id)
            .join(ASSETS, ASSETS.c.id == ASSET_DATASTREAMS.c.asset_id)
            .where(ASSETS.c.code == code, ASSET_DATASTREAMS.c.key == key)
        )
    assert found is not None, (code, key)
    return int(found)


async def codes_of(rt: Runtime, type_key: str, **where: str) -> list[str]:
    async with rt.sessions() as session:
        query = select(ASSETS.c.code).where(ASSETS.c.type_key == type_key).order_by(ASSETS.c.code)
        for column, value in where.items():
            query = query.where(ASSETS.c[column] == value)
        return list((await session.scalars(query)).all())


@pytest.fixture
async def city(rt: Runtime, types: dict[str, AssetType]) -> City:
    owner = await make_user(rt, OWNER_EMAIL)
    admin = await make_user(rt, "admin@example.org", roles=(("admin", None),))
    stadtwerke = await make_user(rt, "leitstelle@stadtwerke.example", roles=(("operator", "stadtwerke"),))
    stadt = await make_user(rt, "leitstelle@stadt.example", roles=(("operator", "stadt"),))
    citizen = await make_user(rt, "buerger@example.org")
    async with rt.sessions() as session, session.begin():
        await twin.provision_city(session, rt.city, types, now=rt.clock.now(), scale=SCALE)
    return City(rt, types, owner, admin, stadtwerke, stadt, citizen)
