"""Creating many Things (each with one Location) and Datastreams at once, in the caller's transaction.

This writes exactly the rows ``POST /sta/v1.1/Things`` with an inline Location, followed by
``POST Things(id)/Datastreams`` and ``SensorThingsService.set_stream_policy``, would write (the Thing, its
Location, the link between them, the HistoricalLocation of the first placement, the Datastream with its
access level and retention), using the SensorThings tables and its GeoJSON check, but as a few
multi-row statements instead of a dozen statements per Thing: provisioning the default demo city takes
a second instead of 40 (measured: docs/twin.md). ``tests/twin/test_sta_bulk.py`` compares both paths
row by row. It belongs in ``sensorthings.store.write`` once a second module needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.sensorthings import models as sta
from stadtkern.sensorthings.models import ACCESS_LEVELS
from stadtkern.sensorthings.store.write import WriteError
from stadtkern.sensorthings.values import ValueError_, bbox

GEO_JSON = "application/geo+json"
# Rows per statement: well below the bind-parameter limits of SQLite (32,766) and PostgreSQL (32,767).
CHUNK = 1000


@dataclass(frozen=True)
class NewThing:
    name: str
    description: str
    properties: dict[str, Any]
    # GeoJSON geometry of the Thing's one Location (named like the Thing).
    location: dict[str, Any]
    location_description: str = ""


@dataclass(frozen=True)
class NewDatastream:
    thing_id: int
    sensor_id: int
    observed_property_id: int
    name: str
    description: str
    observation_type: str
    unit_of_measurement: dict[str, Any]
    properties: dict[str, Any]
    access: str
    organisation: str | None
    owner_user_id: int | None
    retention_days: int | None


async def _reserve_ids(session: AsyncSession, table: Any, count: int) -> list[int]:
    """``count`` new ids of ``table``: from its sequence on PostgreSQL; after the largest id on SQLite,
    where the caller's transaction holds the write lock (one writer), so nobody else takes them."""
    if count == 0:
        return []
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        result = await session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
            {"table": table.name, "count": count},
        )
        return [int(value) for value in result.scalars().all()]
    largest = await session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
    first = int(largest or 0) + 1
    return list(range(first, first + count))


async def _insert_returning(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows with ids reserved up front (a multi-row INSERT ... RETURNING goes row by row on
    SQLite, 36,000 round trips for the demo city); the ids in the order of ``rows``."""
    ids = await _reserve_ids(session, table, len(rows))
    await _insert(session, table, [{**row, "id": ident} for row, ident in zip(rows, ids, strict=True)])
    return ids


async def _insert(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(table), rows[start : start + CHUNK])


async def create_things(session: AsyncSession, things: Sequence[NewThing], *, now: datetime) -> list[int]:
    """Things with one Location each (and its HistoricalLocation at ``now``); their ids, in order."""
    if not things:
        return []
    location_rows: list[dict[str, Any]] = []
    for index, thing in enumerate(things):
        if not thing.name:
            raise WriteError(f"Things[{index}]/name is required for a Thing")
        try:
            min_x, min_y, max_x, max_y = bbox(thing.location, f"Things[{index}]/Locations[0]/location")
        except ValueError_ as exc:
            raise WriteError(str(exc)) from None
        location_rows.append(
            {
                "name": thing.name,
                "description": thing.location_description,
                "encoding_type": GEO_JSON,
                "location": thing.location,
                "properties": None,
                "min_x": min_x,
                "min_y": min_y,
                "max_x": max_x,
                "max_y": max_y,
            }
        )
    thing_ids = await _insert_returning(
        session,
        sta.THINGS,
        [{"name": t.name, "description": t.description, "properties": t.properties} for t in things],
    )
    location_ids = await _insert_returning(session, sta.LOCATIONS, location_rows)
    await _insert(
        session,
        sta.THING_LOCATIONS,
        [{"thing_id": t, "location_id": loc} for t, loc in zip(thing_ids, location_ids, strict=True)],
    )
    historical_ids = await _insert_returning(
        session, sta.HISTORICAL_LOCATIONS, [{"thing_id": t, "time": now} for t in thing_ids]
    )
    await _insert(
        session,
        sta.HISTORICAL_LOCATION_LOCATIONS,
        [
            {"historical_location_id": h, "location_id": loc}
            for h, loc in zip(historical_ids, location_ids, strict=True)
        ],
    )
    return thing_ids


async def create_datastreams(session: AsyncSession, streams: Sequence[NewDatastream]) -> list[int]:
    """Datastreams of existing Things, Sensors and ObservedProperties, with their access rules."""
    rows: list[dict[str, Any]] = []
    for index, stream in enumerate(streams):
        if stream.access not in ACCESS_LEVELS:
            raise WriteError(f"access must be one of {', '.join(ACCESS_LEVELS)}")
        if stream.access == "personal" and stream.owner_user_id is None and stream.organisation is None:
            raise WriteError("a personal Datastream needs its owner or the organisation operating it")
        if stream.retention_days is not None and stream.retention_days < 1:
            raise WriteError("retention_days must be at least 1")
        unit = stream.unit_of_measurement
        if set(unit) - {"name", "symbol", "definition"}:
            raise WriteError(f"Datastreams[{index}]/unitOfMeasurement: only name, symbol and definition")
        rows.append(
            {
                "name": stream.name,
                "description": stream.description,
                "observation_type": stream.observation_type,
                "unit_of_measurement": {
                    "name": unit.get("name"),
                    "symbol": unit.get("symbol"),
                    "definition": unit.get("definition"),
                },
                "observed_area": None,
                "phenomenon_time_start": None,
                "phenomenon_time_end": None,
                "result_time_start": None,
                "result_time_end": None,
                "properties": stream.properties,
                "thing_id": stream.thing_id,
                "sensor_id": stream.sensor_id,
                "observed_property_id": stream.observed_property_id,
                "access": stream.access,
                "organisation": stream.organisation,
                "owner_user_id": stream.owner_user_id,
                "retention_days": stream.retention_days,
                "deduplicate": False,
            }
        )
    return await _insert_returning(session, sta.DATASTREAMS, rows)
