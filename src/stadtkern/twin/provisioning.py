"""Provisioning: the profile's assets into the registry and into SensorThings, idempotently.

Each asset becomes a SensorThings Thing with its Location and one Datastream per Datastream of its type
(those with ``only_with`` only where the asset's property says so),
with a Sensor per asset type and ObservedProperties shared by name and definition. Sensors and
ObservedProperties are created through the SensorThings store's own write path
(``sensorthings.store.write.create``); the thousands of Things and Datastreams through ``sta_bulk``,
which writes the same rows in a few multi-row statements. Everything happens in the caller's
transaction: provisioning a city happens completely or not at all.

Access and retention follow the asset type (the rules of ``SensorThingsService.set_stream_policy``,
set as the Datastreams are written): personal types (household meters) get the access level
``personal``, operated by the asset's organisation and owned by the demo household's account when the
profile names one that exists; every other type ``public``; retention is the type's.

Re-running adds what is missing (new assets of a larger scale, a Thing or Datastream deleted through the
API, the owner of a demo meter whose account now exists) and changes nothing else.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.contracts import AssetType, DatastreamType
from stadtkern.core.accounts.services import find_by_email
from stadtkern.sensorthings import models as sta
from stadtkern.sensorthings.access import Viewer
from stadtkern.sensorthings.entities import ENTITY_TYPES
from stadtkern.sensorthings.store import write as writing
from stadtkern.twin import sta_bulk
from stadtkern.twin.generation import PlannedAsset
from stadtkern.twin.models import ASSET_DATASTREAMS, ASSET_TYPES, ASSETS

HTML = "text/html"


@dataclass
class ProvisionReport:
    assets_added: int = 0
    things_created: int = 0
    datastreams_created: int = 0
    owners_set: int = 0
    seconds: float = 0.0
    per_type: dict[str, int] = field(default_factory=dict)


async def provision(
    session: AsyncSession,
    planned: list[PlannedAsset],
    types: Mapping[str, AssetType],
    *,
    now: datetime,
) -> ProvisionReport:
    """Store the planned assets that are missing and create what is missing in SensorThings.

    Runs in the caller's transaction (the caller commits); on SQLite the caller should have called
    ``lock_for_writing`` when the transaction is its own.
    """
    started = time.perf_counter()
    report = ProvisionReport()
    report.assets_added = await _add_missing_assets(session, planned, now)
    owners = await _owners(session, planned)
    rows = (
        await session.execute(
            select(
                ASSETS.c.id,
                ASSETS.c.code,
                ASSETS.c.type_key,
                ASSETS.c.district_code,
                ASSETS.c.name,
                ASSETS.c.lon,
                ASSETS.c.lat,
                ASSETS.c.organisation,
                ASSETS.c.properties,
                ASSETS.c.thing_id,
            ).order_by(ASSETS.c.id)
        )
    ).all()
    live_things: set[int] = set()
    for chunk in _chunks(_ids(rows, "thing_id")):
        live_things |= set(
            (await session.scalars(select(sta.THINGS.c.id).where(sta.THINGS.c.id.in_(chunk)))).all()
        )
    streams: dict[int, dict[str, int]] = defaultdict(dict)
    for asset_id, key, datastream_id in (
        await session.execute(
            select(ASSET_DATASTREAMS.c.asset_id, ASSET_DATASTREAMS.c.key, ASSET_DATASTREAMS.c.datastream_id)
        )
    ).all():
        streams[asset_id][key] = datastream_id
    all_stream_ids = [ds for by_key in streams.values() for ds in by_key.values()]
    live_streams: set[int] = set()
    for chunk in _chunks(all_stream_ids):
        live_streams |= set(
            (await session.scalars(select(sta.DATASTREAMS.c.id).where(sta.DATASTREAMS.c.id.in_(chunk)))).all()
        )

    ctx = writing.WriteContext(session, now, Viewer.system())
    owner_by_code = {asset.code: owners.get(asset.owner_email) for asset in planned if asset.owner_email}
    rows = [row for row in rows if row.type_key in types]  # a type whose module is off: left alone
    # Things first: every asset without a (still existing) Thing gets one.
    homeless = [row for row in rows if row.thing_id is None or row.thing_id not in live_things]
    thing_ids = await sta_bulk.create_things(
        session, [_new_thing(row, types[row.type_key]) for row in homeless], now=now
    )
    thing_of = {row.id: row.thing_id for row in rows}
    if homeless:
        await session.execute(
            update(ASSETS).where(ASSETS.c.id == bindparam("asset")).values(thing_id=bindparam("thing")),
            [{"asset": row.id, "thing": thing_id} for row, thing_id in zip(homeless, thing_ids, strict=True)],
        )
        stale = [row.id for row in homeless if streams.get(row.id)]
        for chunk in _chunks(stale):
            # A new Thing has none of the old Datastreams (they went with the deleted Thing).
            await session.execute(ASSET_DATASTREAMS.delete().where(ASSET_DATASTREAMS.c.asset_id.in_(chunk)))
        for row, thing_id in zip(homeless, thing_ids, strict=True):
            thing_of[row.id] = thing_id
            streams[row.id] = {}
    report.things_created = len(homeless)

    # Then every Datastream key of the asset's type that has no (still existing) Datastream.
    sensors: dict[str, int] = {}
    observed: dict[tuple[str, str], int] = {}
    wanted: list[tuple[int, str]] = []
    new_streams: list[sta_bulk.NewDatastream] = []
    lost: list[tuple[int, str]] = []
    for row in rows:
        asset_type = types[row.type_key]
        owner = owner_by_code.get(row.code)
        for stream in asset_type.datastreams:
            if not stream.present_for(row.properties):
                continue  # e.g. a meter's feed-in where there is no PV system
            known = streams[row.id].get(stream.key)
            if known is not None and known in live_streams:
                continue
            if known is not None:
                lost.append((row.id, stream.key))
            if asset_type.key not in sensors:
                sensors[asset_type.key] = await _sensor(ctx, asset_type)
            op_key = (stream.observed_property.name, stream.observed_property.definition)
            if op_key not in observed:
                observed[op_key] = await _observed_property(ctx, stream)
            thing_id = thing_of[row.id]
            assert thing_id is not None
            wanted.append((row.id, stream.key))
            new_streams.append(
                _new_datastream(
                    row, asset_type, stream, thing_id, sensors[asset_type.key], observed[op_key], owner
                )
            )
            report.per_type[asset_type.key] = report.per_type.get(asset_type.key, 0) + 1
    for asset_id, key in lost:
        await session.execute(
            ASSET_DATASTREAMS.delete().where(
                ASSET_DATASTREAMS.c.asset_id == asset_id, ASSET_DATASTREAMS.c.key == key
            )
        )
    datastream_ids = await sta_bulk.create_datastreams(session, new_streams)
    if wanted:
        await session.execute(
            insert(ASSET_DATASTREAMS),
            [
                {"asset_id": asset_id, "key": key, "datastream_id": datastream_id}
                for (asset_id, key), datastream_id in zip(wanted, datastream_ids, strict=True)
            ],
        )
    report.datastreams_created = len(datastream_ids)
    report.owners_set = await _attach_owners(session, owner_by_code)
    report.seconds = time.perf_counter() - started
    return report


def _ids(rows: Any, column: str) -> list[int]:
    return [int(getattr(row, column)) for row in rows if getattr(row, column) is not None]


def _chunks(values: list[int], size: int = 5000) -> list[list[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)] or [[]]


async def _add_missing_assets(session: AsyncSession, planned: list[PlannedAsset], now: datetime) -> int:
    existing = set((await session.scalars(select(ASSETS.c.code))).all())
    missing = [
        {
            "code": asset.code,
            "type_key": asset.type_key,
            "district_code": asset.district_code,
            "name": asset.name,
            "lon": asset.lon,
            "lat": asset.lat,
            "organisation": asset.organisation,
            "properties": asset.properties,
            "thing_id": None,
            "created_at": now,
        }
        for asset in planned
        if asset.code not in existing
    ]
    if missing:
        await session.execute(insert(ASSETS), missing)
    return len(missing)


async def _owners(session: AsyncSession, planned: list[PlannedAsset]) -> dict[str, int]:
    """E-mail -> user id of the owner accounts the profile names that exist."""
    found: dict[str, int] = {}
    for email in sorted({asset.owner_email for asset in planned if asset.owner_email}):
        user = await find_by_email(session, email)
        if user is not None and user.deleted_at is None:
            found[email] = user.id
    return found


async def _attach_owners(session: AsyncSession, owner_by_code: Mapping[str, int | None]) -> int:
    """Demo meters provisioned before their owner's account existed get the owner now (nothing else)."""
    attached = 0
    for code, owner in owner_by_code.items():
        if owner is None:
            continue
        stream_ids = select(ASSET_DATASTREAMS.c.datastream_id).where(
            ASSET_DATASTREAMS.c.asset_id == select(ASSETS.c.id).where(ASSETS.c.code == code).scalar_subquery()
        )
        result = await session.execute(
            update(sta.DATASTREAMS)
            .where(
                sta.DATASTREAMS.c.id.in_(stream_ids),
                sta.DATASTREAMS.c.access == "personal",
                sta.DATASTREAMS.c.owner_user_id.is_(None),
            )
            .values(owner_user_id=owner)
        )
        attached += int(getattr(result, "rowcount", 0) or 0)
    return attached


def _new_thing(row: Any, asset_type: AssetType) -> sta_bulk.NewThing:
    properties = {
        "assetCode": row.code,
        "assetType": asset_type.key,
        "domain": asset_type.domain,
        "district": row.district_code,
        "organisation": row.organisation,
        **dict(row.properties or {}),
    }
    return sta_bulk.NewThing(
        name=row.name,
        description=str(asset_type.title),
        properties=properties,
        location={"type": "Point", "coordinates": [row.lon, row.lat]},
        location_description=str(asset_type.title),
    )


def _new_datastream(
    row: Any,
    asset_type: AssetType,
    stream: DatastreamType,
    thing_id: int,
    sensor_id: int,
    op_id: int,
    owner: int | None,
) -> sta_bulk.NewDatastream:
    low, high = stream.value_range
    properties: dict[str, Any] = {"key": stream.key, "valueRange": [low, high]}
    if stream.interval is not None:
        properties["resultInterval"] = _iso_duration(stream.interval.total_seconds())
    return sta_bulk.NewDatastream(
        thing_id=thing_id,
        sensor_id=sensor_id,
        observed_property_id=op_id,
        name=f"{row.name}: {stream.name}",
        description=str(stream.description or stream.name),
        observation_type=stream.observation_type,
        unit_of_measurement={
            "name": stream.unit.name,
            "symbol": stream.unit.symbol,
            "definition": stream.unit.definition,
        },
        properties=properties,
        # Personal types (household meters): the owner and staff of the operating organisation only.
        access="personal" if asset_type.personal else "public",
        organisation=row.organisation,
        owner_user_id=owner if asset_type.personal else None,
        retention_days=asset_type.retention.days,
    )


def _iso_duration(seconds: float) -> str:
    total = int(seconds)
    if total % 86400 == 0:
        return f"P{total // 86400}D"
    if total % 3600 == 0:
        return f"PT{total // 3600}H"
    if total % 60 == 0:
        return f"PT{total // 60}M"
    return f"PT{total}S"


async def _sensor(ctx: writing.WriteContext, asset_type: AssetType) -> int:
    """The Sensor describing every asset of the type (one per type, remembered in the registry)."""
    session = ctx.session
    known = await session.scalar(select(ASSET_TYPES.c.sensor_id).where(ASSET_TYPES.c.key == asset_type.key))
    if known is not None and await session.scalar(select(sta.SENSORS.c.id).where(sta.SENSORS.c.id == known)):
        return int(known)
    sensor_id = await writing.create(
        ctx,
        ENTITY_TYPES["Sensor"],
        {
            "name": str(asset_type.title),
            "description": str(asset_type.purpose),
            "encodingType": HTML,
            "metadata": f"/transparenz#{asset_type.key}",
            "properties": {"assetType": asset_type.key, "domain": asset_type.domain, "kind": asset_type.kind},
        },
    )
    if known is None:
        await session.execute(insert(ASSET_TYPES).values(key=asset_type.key, sensor_id=sensor_id))
    else:
        await session.execute(
            update(ASSET_TYPES).where(ASSET_TYPES.c.key == asset_type.key).values(sensor_id=sensor_id)
        )
    return sensor_id


async def _observed_property(ctx: writing.WriteContext, stream: DatastreamType) -> int:
    """An existing ObservedProperty with the same name and definition, else a new one."""
    ref = stream.observed_property
    table = sta.OBSERVED_PROPERTIES
    found = await ctx.session.scalar(
        select(table.c.id).where(table.c.name == ref.name, table.c.definition == ref.definition).limit(1)
    )
    if found is not None:
        return int(found)
    return await writing.create(
        ctx,
        ENTITY_TYPES["ObservedProperty"],
        {"name": ref.name, "definition": ref.definition, "description": ref.description},
    )
