"""The transparency register's rules: what each kind of sensor measures, why, who operates it, who may see
its data and how long it is kept.

The retention shown is the one the retention job enforces: ``retention_days`` of each Datastream as the
SensorThings store holds it (``sensorthings.retention`` deletes by exactly that column), never the period
an asset type promises in its declaration. The access level is read the same way. Assets of personal
types (household meters) are never listed or placed one by one: only their number per Stadtbezirk, with
small numbers suppressed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import mapping
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from stadtkern.contracts import AssetType
from stadtkern.core.city import CityProfile
from stadtkern.sensorthings import models as sta
from stadtkern.twin.models import ASSET_DATASTREAMS, ASSETS
from stadtkern.twin.opendata.disclosure import public_count
from stadtkern.twin.profile import TwinProfile

PAGE_SIZE = 50
# Simplification of the district shapes for the map (degrees, about 10 m): the file stays small.
SHAPE_TOLERANCE = 0.0001


@dataclass(frozen=True)
class EnforcedRetention:
    """How many of a kind's Datastreams are deleted after ``days`` (None: no retention set)."""

    days: int | None
    streams: int


@dataclass(frozen=True)
class SensorKind:
    """One kind of sensor (asset type) in the register, with what the database says about it."""

    type: AssetType
    assets: int
    # names of the organisations operating assets of this kind
    organisations: list[str]
    retention: list[EnforcedRetention]
    # access level -> number of Datastreams with it
    access: dict[str, int]
    # Stadtbezirk code -> number of assets (None: suppressed, a small number of personal assets)
    per_district: dict[str, int | None] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.type.key

    @property
    def listed_individually(self) -> bool:
        """Personal kinds (household meters) appear only as counts per district, never one by one."""
        return not self.type.personal and set(self.access) <= {"public"}


@dataclass(frozen=True)
class AssetRow:
    code: str
    name: str
    type_key: str
    district_code: str
    organisation: str
    lon: float
    lat: float


@dataclass(frozen=True)
class AssetPage:
    items: list[AssetRow]
    total: int
    number: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def organisation_name(city: CityProfile, key: str) -> str:
    org = city.organisation(key)
    return org.name if org else key


async def sensor_kinds(
    session: AsyncSession, types: Mapping[str, AssetType], city: CityProfile
) -> list[SensorKind]:
    """Every declared kind of sensor with its enforced retention, access levels, operators and counts."""
    policy_rows = (
        await session.execute(
            select(
                ASSETS.c.type_key, sta.DATASTREAMS.c.retention_days, sta.DATASTREAMS.c.access, func.count()
            )
            .select_from(
                ASSET_DATASTREAMS.join(ASSETS, ASSETS.c.id == ASSET_DATASTREAMS.c.asset_id).join(
                    sta.DATASTREAMS, sta.DATASTREAMS.c.id == ASSET_DATASTREAMS.c.datastream_id
                )
            )
            .group_by(ASSETS.c.type_key, sta.DATASTREAMS.c.retention_days, sta.DATASTREAMS.c.access)
        )
    ).all()
    retention: dict[str, dict[int | None, int]] = defaultdict(lambda: defaultdict(int))
    access: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for type_key, days, level, count in policy_rows:
        retention[type_key][None if days is None else int(days)] += int(count)
        access[type_key][str(level)] += int(count)
    org_rows = (
        await session.execute(
            select(ASSETS.c.type_key, ASSETS.c.organisation)
            .group_by(ASSETS.c.type_key, ASSETS.c.organisation)
            .order_by(ASSETS.c.organisation)
        )
    ).all()
    organisations: dict[str, list[str]] = defaultdict(list)
    for type_key, org in org_rows:
        organisations[type_key].append(organisation_name(city, org))
    district_rows = (
        await session.execute(
            select(ASSETS.c.type_key, ASSETS.c.district_code, func.count()).group_by(
                ASSETS.c.type_key, ASSETS.c.district_code
            )
        )
    ).all()
    districts: dict[str, dict[str, int]] = defaultdict(dict)
    for type_key, district, count in district_rows:
        districts[type_key][district] = int(count)
    kinds = []
    for key, asset_type in types.items():
        counts = districts.get(key, {})
        kinds.append(
            SensorKind(
                type=asset_type,
                assets=sum(counts.values()),
                organisations=organisations.get(key) or [organisation_name(city, asset_type.organisation)],
                retention=[
                    EnforcedRetention(days, streams)
                    for days, streams in sorted(
                        retention.get(key, {}).items(), key=lambda item: (item[0] is None, item[0] or 0)
                    )
                ],
                access=dict(sorted(access.get(key, {}).items())),
                per_district={
                    code: (public_count(n) if asset_type.personal else n)
                    for code, n in sorted(counts.items())
                },
            )
        )
    return sorted(kinds, key=lambda kind: str(kind.type.title))


def listed_type_keys(kinds: Sequence[SensorKind]) -> list[str]:
    return [kind.key for kind in kinds if kind.listed_individually]


async def asset_page(
    session: AsyncSession,
    listed: Sequence[str],
    *,
    type_key: str | None = None,
    district_code: str | None = None,
    page: int = 1,
    per_page: int = PAGE_SIZE,
) -> AssetPage:
    """One page of the individually listed sensors (never a personal kind), filtered by kind and district."""
    wanted = [key for key in listed if type_key is None or key == type_key]
    if not wanted:
        return AssetPage([], 0, 1, 1)
    conditions: list[ColumnElement[bool]] = [ASSETS.c.type_key.in_(wanted)]
    if district_code:
        conditions.append(ASSETS.c.district_code == district_code)
    total = int(await session.scalar(select(func.count()).select_from(ASSETS).where(*conditions)) or 0)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = (
        await session.execute(
            select(
                ASSETS.c.code,
                ASSETS.c.name,
                ASSETS.c.type_key,
                ASSETS.c.district_code,
                ASSETS.c.organisation,
                ASSETS.c.lon,
                ASSETS.c.lat,
            )
            .where(*conditions)
            .order_by(ASSETS.c.type_key, ASSETS.c.code)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ).all()
    items = [
        AssetRow(r.code, r.name, r.type_key, r.district_code, r.organisation, float(r.lon), float(r.lat))
        for r in rows
    ]
    return AssetPage(items, total, page, pages)


async def map_points(
    session: AsyncSession, listed: Sequence[str], titles: Mapping[str, str]
) -> dict[str, Any]:
    """GeoJSON of every individually listed sensor (personal kinds are never among them)."""
    if not listed:
        return {"type": "FeatureCollection", "features": []}
    rows = (
        await session.execute(
            select(ASSETS.c.code, ASSETS.c.name, ASSETS.c.type_key, ASSETS.c.lon, ASSETS.c.lat)
            .where(ASSETS.c.type_key.in_(list(listed)))
            .order_by(ASSETS.c.code)
        )
    ).all()
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [round(r.lon, 6), round(r.lat, 6)]},
                "properties": {
                    "code": r.code,
                    "name": r.name,
                    "type": r.type_key,
                    "title": titles.get(r.type_key, r.type_key),
                },
            }
            for r in rows
        ],
    }


def district_shapes(profile: TwinProfile) -> dict[str, Any]:
    """The Stadtbezirke as GeoJSON (simplified), with the shapes' attribution (ODbL: it must be shown)."""
    return {
        "type": "FeatureCollection",
        "attribution": profile.attribution,
        "license": profile.licence,
        "features": [
            {
                "type": "Feature",
                "geometry": mapping(district.area.geometry.simplify(SHAPE_TOLERANCE, preserve_topology=True)),
                "properties": {"code": district.code, "name": district.name},
            }
            for district in profile.stadtbezirke
        ],
    }


def district_shapes_json(profile: TwinProfile) -> bytes:
    """The district shapes as JSON bytes, cached per loaded profile (the shapes only change with it)."""
    cached = _SHAPES.get(id(profile))
    if cached is None or cached[0] is not profile:
        cached = (profile, json.dumps(district_shapes(profile), separators=(",", ":")).encode())
        _SHAPES.clear()
        _SHAPES[id(profile)] = cached
    return cached[1]


_SHAPES: dict[int, tuple[TwinProfile, bytes]] = {}
