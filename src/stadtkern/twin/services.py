"""Reading the asset registry: what other modules (the simulator, the console) ask the twin."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import AssetType
from stadtkern.core.city import CityProfile
from stadtkern.twin.generation import plan_assets
from stadtkern.twin.models import ASSET_DATASTREAMS, ASSETS
from stadtkern.twin.profile import load_twin_profile
from stadtkern.twin.provisioning import ProvisionReport, provision


@dataclass(frozen=True)
class AssetRecord:
    """One asset with the SensorThings Datastream id behind each of its type's Datastream keys."""

    code: str
    type_key: str
    district_code: str
    name: str
    lon: float
    lat: float
    properties: Mapping[str, Any]
    # datastream key (e.g. "dim_level") -> SensorThings Datastream id; empty until provisioned.
    datastreams: Mapping[str, int]


async def list_assets(
    session: AsyncSession, *, type_keys: Collection[str] | None = None
) -> list[AssetRecord]:
    """Every asset (or those of ``type_keys``), ordered by code, with its Datastream ids."""
    query = select(
        ASSETS.c.id,
        ASSETS.c.code,
        ASSETS.c.type_key,
        ASSETS.c.district_code,
        ASSETS.c.name,
        ASSETS.c.lon,
        ASSETS.c.lat,
        ASSETS.c.properties,
    ).order_by(ASSETS.c.code)
    streams_query = select(
        ASSET_DATASTREAMS.c.asset_id, ASSET_DATASTREAMS.c.key, ASSET_DATASTREAMS.c.datastream_id
    )
    if type_keys is not None:
        wanted = sorted(set(type_keys))
        if not wanted:
            return []
        query = query.where(ASSETS.c.type_key.in_(wanted))
        streams_query = streams_query.where(
            ASSET_DATASTREAMS.c.asset_id.in_(select(ASSETS.c.id).where(ASSETS.c.type_key.in_(wanted)))
        )
    streams: dict[int, dict[str, int]] = defaultdict(dict)
    for asset_id, key, datastream_id in (await session.execute(streams_query)).all():
        streams[asset_id][key] = int(datastream_id)
    return [
        AssetRecord(
            code=row.code,
            type_key=row.type_key,
            district_code=row.district_code,
            name=row.name,
            lon=float(row.lon),
            lat=float(row.lat),
            properties=MappingProxyType(dict(row.properties or {})),
            datastreams=MappingProxyType(streams.get(row.id, {})),
        )
        for row in (await session.execute(query)).all()
    ]


async def count_assets(session: AsyncSession) -> dict[tuple[str, str], int]:
    """(type key, district code) -> number of assets."""
    rows = await session.execute(
        select(ASSETS.c.type_key, ASSETS.c.district_code, func.count()).group_by(
            ASSETS.c.type_key, ASSETS.c.district_code
        )
    )
    return {(type_key, district): int(count) for type_key, district, count in rows.all()}


async def provision_city(
    session: AsyncSession,
    city: CityProfile,
    types: Mapping[str, AssetType],
    *,
    now: datetime,
    scale: float | None = None,
) -> ProvisionReport:
    """Plan the city's assets from its profile and provision what is missing (caller's transaction)."""
    planned = plan_assets(load_twin_profile(city), types, scale=scale)
    return await provision(session, planned, types, now=now)


async def has_assets(session: AsyncSession) -> bool:
    return await session.scalar(select(ASSETS.c.id).limit(1)) is not None
