"""The observation ingest: validate, attach a FeatureOfInterest, store in one statement, keep the
Datastream's time ranges and its latest value. Every way in (HTTP single and batch, dataArray, MQTT, the
service API) ends here, so the rules are the same for all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.values import ValueError_, parse_interval, parse_time, split_result

OBSERVATION_FIELDS = {
    "phenomenonTime",
    "resultTime",
    "result",
    "resultQuality",
    "validTime",
    "parameters",
    "Datastream",
    "MultiDatastream",
    "FeatureOfInterest",
    "@iot.id",
    "@iot.selfLink",
}


class IngestError(ValueError):
    """An observation that cannot be stored (unknown stream, no location for the feature, bad result)."""


@dataclass
class ObservationInput:
    phenomenon_time: datetime
    phenomenon_time_end: datetime | None
    result: Any
    result_time: datetime | None = None
    result_quality: Any = None
    valid_time_start: datetime | None = None
    valid_time_end: datetime | None = None
    parameters: dict[str, Any] | None = None
    feature_of_interest_id: int | None = None
    client_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def observation_columns(body: dict[str, Any], *, path: str, now: datetime, partial: bool) -> dict[str, Any]:
    """Column values from an Observation's JSON (for updates; creation goes through observation_from_json)."""
    unknown = [
        key for key in body if key not in OBSERVATION_FIELDS and not key.endswith("@iot.navigationLink")
    ]
    if unknown:
        raise ValueError_(f"{path}/{unknown[0]}: an Observation has no property {unknown[0]!r}")
    values: dict[str, Any] = {}
    if "phenomenonTime" in body:
        start, end = parse_interval(body["phenomenonTime"], f"{path}/phenomenonTime")
        values.update(phenomenon_time=start, phenomenon_time_end=end)
    elif not partial:
        values.update(phenomenon_time=now, phenomenon_time_end=None)
    if "result" in body:
        kind, number, string, json_value = split_result(body["result"])
        values.update(result_type=kind, result_number=number, result_string=string, result_json=json_value)
    elif not partial:
        raise ValueError_(f"{path}/result is required")
    if "resultTime" in body:
        values["result_time"] = (
            None if body["resultTime"] is None else parse_time(body["resultTime"], f"{path}/resultTime")
        )
    if "validTime" in body:
        if body["validTime"] is None:
            values.update(valid_time_start=None, valid_time_end=None)
        else:
            start, end = parse_interval(body["validTime"], f"{path}/validTime")
            values.update(valid_time_start=start, valid_time_end=end)
    if "resultQuality" in body:
        values["result_quality"] = body["resultQuality"]
    if "parameters" in body:
        if body["parameters"] is not None and not isinstance(body["parameters"], dict):
            raise ValueError_(f"{path}/parameters must be a JSON object")
        values["parameters"] = body["parameters"]
    return values


def observation_from_json(body: dict[str, Any], *, path: str, now: datetime) -> ObservationInput:
    values = observation_columns(body, path=path, now=now, partial=False)
    client_id = body.get("@iot.id")
    return ObservationInput(
        phenomenon_time=values["phenomenon_time"],
        phenomenon_time_end=values["phenomenon_time_end"],
        result=body["result"],
        result_time=values.get("result_time"),
        result_quality=values.get("result_quality"),
        valid_time_start=values.get("valid_time_start"),
        valid_time_end=values.get("valid_time_end"),
        parameters=values.get("parameters"),
        client_key=str(client_id)
        if isinstance(client_id, (str, int)) and not isinstance(client_id, bool)
        else None,
    )


@dataclass(frozen=True)
class StreamInfo:
    id: int
    multi: bool
    thing_id: int
    deduplicate: bool
    components: int | None  # MultiDatastream: length of each result array


async def stream_info(
    session: AsyncSession, datastream_id: int | None, multi_datastream_id: int | None
) -> StreamInfo:
    if datastream_id is not None:
        row = (
            await session.execute(
                select(m.Datastream.id, m.Datastream.thing_id, m.Datastream.deduplicate).where(
                    m.Datastream.id == datastream_id
                )
            )
        ).first()
        if row is None:
            raise IngestError(f"Datastreams({datastream_id}) does not exist")
        return StreamInfo(row.id, False, row.thing_id, row.deduplicate, None)
    assert multi_datastream_id is not None
    row = (
        await session.execute(
            select(
                m.MultiDatastream.id,
                m.MultiDatastream.thing_id,
                m.MultiDatastream.deduplicate,
                m.MultiDatastream.multi_observation_data_types,
            ).where(m.MultiDatastream.id == multi_datastream_id)
        )
    ).first()
    if row is None:
        raise IngestError(f"MultiDatastreams({multi_datastream_id}) does not exist")
    return StreamInfo(
        row.id, True, row.thing_id, row.deduplicate, len(row.multi_observation_data_types or [])
    )


async def feature_for_thing(session: AsyncSession, thing_id: int) -> int:
    """The FeatureOfInterest generated from the Thing's Location (created on first use)."""
    location = (
        (
            await session.execute(
                select(m.LOCATIONS)
                .join(m.ThingLocation, m.ThingLocation.location_id == m.Location.id)
                .where(m.ThingLocation.thing_id == thing_id)
                .order_by(m.Location.id)
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    if location is None:
        raise IngestError(
            "the Observation has no FeatureOfInterest and its Thing has no Location to derive one from: "
            "link or create a FeatureOfInterest"
        )
    existing = await session.scalar(
        select(m.FeatureOfInterest.id).where(m.FeatureOfInterest.generated_from_location_id == location["id"])
    )
    if existing is not None:
        return int(existing)
    created = await session.scalar(
        insert(m.FEATURES)
        .values(
            name=location["name"],
            description=location["description"],
            encoding_type=location["encoding_type"],
            feature=location["location"],
            properties=None,
            min_x=location["min_x"],
            min_y=location["min_y"],
            max_x=location["max_x"],
            max_y=location["max_y"],
            generated_from_location_id=location["id"],
        )
        .returning(m.FeatureOfInterest.id)
    )
    assert created is not None
    return int(created)


def _row(stream: StreamInfo, item: ObservationInput, feature_id: int) -> dict[str, Any]:
    if stream.multi and (not isinstance(item.result, list) or len(item.result) != stream.components):
        raise IngestError(
            f"the result of a MultiDatastreams({stream.id}) Observation must be a list of {stream.components} values"
        )
    try:
        kind, number, string, json_value = split_result(item.result)
    except ValueError_ as exc:
        raise IngestError(str(exc)) from None
    return {
        "datastream_id": None if stream.multi else stream.id,
        "multi_datastream_id": stream.id if stream.multi else None,
        "feature_of_interest_id": feature_id,
        "phenomenon_time": item.phenomenon_time,
        "phenomenon_time_end": item.phenomenon_time_end,
        "result_time": item.result_time,
        "result_type": kind,
        "result_number": number,
        "result_string": string,
        "result_json": json_value,
        "result_quality": item.result_quality,
        "valid_time_start": item.valid_time_start,
        "valid_time_end": item.valid_time_end,
        "parameters": item.parameters,
        "client_key": (item.client_key or item.phenomenon_time.isoformat()) if stream.deduplicate else None,
    }


async def insert_observations(
    session: AsyncSession,
    items: Sequence[ObservationInput],
    *,
    datastream_id: int | None = None,
    multi_datastream_id: int | None = None,
    now: datetime,
) -> list[int]:
    """Store observations of one stream in the caller's transaction; returns their ids in order."""
    if not items:
        return []
    stream = await stream_info(session, datastream_id, multi_datastream_id)
    generated: int | None = None
    rows = []
    for item in items:
        feature_id = item.feature_of_interest_id
        if feature_id is None:
            if generated is None:
                generated = await feature_for_thing(session, stream.thing_id)
            feature_id = generated
        rows.append(_row(stream, item, feature_id))
    table = m.OBSERVATIONS
    if stream.deduplicate:
        ids = await _insert_deduplicated(session, rows)
    else:
        result = await session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        ids = [int(row[0]) for row in result.all()]
    await _update_stream(session, stream, rows)
    if not stream.multi:
        await _update_latest(session, stream.id, rows, ids)
    return ids


async def _insert_deduplicated(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Rows whose (stream, client key, time) exists already are not stored again; their ids are returned."""
    table = m.OBSERVATIONS
    ids: list[int] = []
    for row in rows:
        existing = await session.scalar(
            select(table.c.id).where(
                table.c.datastream_id.is_not_distinct_from(row["datastream_id"]),
                table.c.multi_datastream_id.is_not_distinct_from(row["multi_datastream_id"]),
                table.c.client_key == row["client_key"],
                table.c.phenomenon_time == row["phenomenon_time"],
            )
        )
        if existing is None:
            existing = await session.scalar(insert(table).values(**row).returning(table.c.id))
        ids.append(int(existing))
    return ids


async def _update_stream(session: AsyncSession, stream: StreamInfo, rows: list[dict[str, Any]]) -> None:
    """Widen the stream's phenomenonTime and resultTime to cover the new observations."""
    starts = [r["phenomenon_time"] for r in rows]
    ends = [r["phenomenon_time_end"] or r["phenomenon_time"] for r in rows]
    result_times = [r["result_time"] for r in rows if r["result_time"] is not None]
    table = m.MULTI_DATASTREAMS if stream.multi else m.DATASTREAMS
    values: dict[str, Any] = {
        "phenomenon_time_start": _least(table.c.phenomenon_time_start, min(starts)),
        "phenomenon_time_end": _greatest(table.c.phenomenon_time_end, max(ends)),
    }
    if result_times:
        values["result_time_start"] = _least(table.c.result_time_start, min(result_times))
        values["result_time_end"] = _greatest(table.c.result_time_end, max(result_times))
    await session.execute(update(table).where(table.c.id == stream.id).values(**values))


def _least(column: Any, value: datetime) -> Any:
    return case((column.is_(None), value), (column > value, value), else_=column)


def _greatest(column: Any, value: datetime) -> Any:
    return case((column.is_(None), value), (column < value, value), else_=column)


async def _update_latest(
    session: AsyncSession, datastream_id: int, rows: list[dict[str, Any]], ids: list[int]
) -> None:
    newest = max(range(len(rows)), key=lambda i: (rows[i]["phenomenon_time"], ids[i]))
    row = rows[newest]
    values = {
        "datastream_id": datastream_id,
        "observation_id": ids[newest],
        "phenomenon_time": row["phenomenon_time"],
        "result_type": row["result_type"],
        "result_number": row["result_number"],
        "result_string": row["result_string"],
        "result_json": row["result_json"],
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(m.LATEST).values(**values)
    table = m.LATEST
    upsert = statement.on_conflict_do_update(
        index_elements=[table.c.datastream_id],
        set_={k: statement.excluded[k] for k in values if k != "datastream_id"},
        where=table.c.phenomenon_time <= statement.excluded.phenomenon_time,
    )
    await session.execute(upsert)


def count_observations(table: Any) -> Any:
    return func.count(table.c.id)
