"""The observation ingest: validate, attach a FeatureOfInterest, store in one statement, keep the
Datastream's time ranges and its latest value. Every way in (HTTP single and batch, dataArray, MQTT, the
service API) ends here, so the rules are the same for all.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, func, insert, select, update
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.fastpath import sqlite_time, sqlite_times
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
    observed_area: dict[str, Any] | None = None
    # Who may read it (carried into the events of its new observations).
    access: str = "public"
    organisation: str | None = None
    owner_user_id: int | None = None
    # The FeatureOfInterest generated from the Thing's Location, if it exists yet, and its box.
    feature_id: int | None = None
    feature_box: tuple[float, float, float, float] | None = None


@lru_cache(maxsize=2)
def stream_info_query(multi: bool) -> Any:
    """Built once per table: a prebuilt statement skips SQLAlchemy's construction and cache-key work."""
    table = m.MULTI_DATASTREAMS if multi else m.DATASTREAMS
    features = m.FEATURES
    links = m.THING_LOCATIONS
    columns: list[Any] = [
        table.c.id,
        table.c.thing_id,
        table.c.deduplicate,
        table.c.observed_area,
        table.c.access,
        table.c.organisation,
        table.c.owner_user_id,
    ]
    if multi:
        columns.append(table.c.multi_observation_data_types)
    columns += [
        features.c[name].label(f"feature_{name}") for name in ("id", "min_x", "min_y", "max_x", "max_y")
    ]
    # The Thing's first Location and the feature generated from it (NULL when not made yet).
    return (
        select(*columns)
        .select_from(table)
        .outerjoin(links, links.c.thing_id == table.c.thing_id)
        .outerjoin(features, features.c.generated_from_location_id == links.c.location_id)
        .where(table.c.id == bindparam("stream_id"))
        .order_by(links.c.location_id)
        .limit(1)
    )


async def stream_info(
    session: AsyncSession, datastream_id: int | None, multi_datastream_id: int | None
) -> StreamInfo:
    """The stream, its observedArea and its Thing's generated feature, in one round trip."""
    multi = datastream_id is None
    key = multi_datastream_id if multi else datastream_id
    query = stream_info_query(multi)
    row = (await session.execute(query, {"stream_id": key})).mappings().first()
    if row is None:
        raise IngestError(f"{'MultiDatastreams' if multi else 'Datastreams'}({key}) does not exist")
    box = None
    if row["feature_id"] is not None and row["feature_min_x"] is not None:
        box = (row["feature_min_x"], row["feature_min_y"], row["feature_max_x"], row["feature_max_y"])
    return StreamInfo(
        row["id"],
        multi,
        row["thing_id"],
        row["deduplicate"],
        len(row["multi_observation_data_types"] or []) if multi else None,
        observed_area=row["observed_area"],
        access=row["access"],
        organisation=row["organisation"],
        owner_user_id=row["owner_user_id"],
        feature_id=row["feature_id"],
        feature_box=box,
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
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(m.FEATURES)
    created = await session.scalar(
        statement.values(
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
        # Another writer made it between our look-up and this insert: use theirs.
        .on_conflict_do_nothing(index_elements=[m.FEATURES.c.generated_from_location_id])
        .returning(m.FeatureOfInterest.id)
    )
    if created is None:
        created = await session.scalar(
            select(m.FeatureOfInterest.id).where(
                m.FeatureOfInterest.generated_from_location_id == location["id"]
            )
        )
    assert created is not None
    return int(created)


def observation_row(stream: StreamInfo, item: ObservationInput, feature_id: int) -> dict[str, Any]:
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


@dataclass(frozen=True)
class Inserted:
    """What one call stored: the stream, the rows as written (without their id) and the ids, in order."""

    stream: StreamInfo
    rows: list[dict[str, Any]]
    ids: list[int]


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
    inserted = await store_observations(
        session, items, datastream_id=datastream_id, multi_datastream_id=multi_datastream_id, now=now
    )
    return inserted.ids


async def store_observations(
    session: AsyncSession,
    items: Sequence[ObservationInput],
    *,
    datastream_id: int | None = None,
    multi_datastream_id: int | None = None,
    now: datetime,
) -> Inserted:
    """``insert_observations``, also returning the stream and the rows (events are built from them)."""
    stream = await stream_info(session, datastream_id, multi_datastream_id)
    generated: int | None = None
    rows = []
    for item in items:
        feature_id = item.feature_of_interest_id
        if feature_id is None:
            if generated is None:
                generated = stream.feature_id or await feature_for_thing(session, stream.thing_id)
            feature_id = generated
        rows.append(observation_row(stream, item, feature_id))
    if stream.deduplicate:
        ids = await _insert_deduplicated(session, rows)
    else:
        ids = await bulk_insert(session, rows)
    await _update_stream(session, stream, rows)
    if not stream.multi:
        await _update_latest(session, stream.id, rows, ids)
    return Inserted(stream, rows, ids)


async def insert_columns(
    session: AsyncSession,
    columns: dict[str, list[Any]],
    *,
    datastream_id: int,
    now: datetime,
) -> list[int]:
    """Store a simple block given as column lists (see fastpath.py); same rules as insert_observations."""
    stream = await stream_info(session, datastream_id, None)
    if stream.deduplicate:
        # Re-sent rows must be found first: the general path does that row by row.
        items = [
            ObservationInput(phenomenon_time=t, phenomenon_time_end=None, result=value, result_time=rt)
            for t, value, rt in zip(
                columns["phenomenon_time"],
                [
                    int(v) if k == m.RESULT_INT else v
                    for v, k in zip(columns["result_number"], columns["result_type"], strict=True)
                ],
                columns.get("result_time", [None] * len(columns["phenomenon_time"])),
                strict=True,
            )
        ]
        return await insert_observations(session, items, datastream_id=datastream_id, now=now)
    count = len(columns["phenomenon_time"])
    if count == 0:
        return []
    feature_id = stream.feature_id or await feature_for_thing(session, stream.thing_id)
    given = {"datastream_id": [stream.id] * count, "feature_of_interest_id": [feature_id] * count, **columns}
    # Table order: the compiled INSERT lists its columns in this order whatever order they are given in.
    names = [column.name for column in m.OBSERVATIONS.columns if column.name in given]
    lists = [given[name] for name in names]
    ids = await _copy_rows(session, names, lists)
    times = columns["phenomenon_time"]
    bounds = [
        {
            "phenomenon_time": min(times),
            "phenomenon_time_end": None,
            "result_time": None,
            "feature_of_interest_id": feature_id,
        },
        {
            "phenomenon_time": max(times),
            "phenomenon_time_end": None,
            "result_time": max(columns["result_time"]) if "result_time" in columns else None,
            "feature_of_interest_id": feature_id,
        },
    ]
    if "result_time" in columns:
        bounds[0]["result_time"] = min(columns["result_time"])
    await _update_stream(session, stream, bounds)
    newest = max(range(count), key=lambda i: (times[i], ids[i]))
    latest_row = {
        "phenomenon_time": times[newest],
        "result_type": columns["result_type"][newest],
        "result_number": columns["result_number"][newest],
        "result_string": None,
        "result_json": None,
    }
    await _update_latest(session, stream.id, [latest_row], [ids[newest]])
    return ids


# The sequence behind sta_observations.id (a serial column; tests/sensorthings/test_partitions.py checks
# the name). Named literally: pg_get_serial_sequence() in the statement ran once per row and made
# reserving 10,000 ids cost 24 ms instead of 4 ms.
OBSERVATION_ID_SEQUENCE = "sta_observations_id_seq"
RESERVE_IDS = "SELECT nextval('sta_observations_id_seq') FROM generate_series(1, $1)"


async def reserve_observation_ids(driver: Any, count: int) -> list[int]:
    """``count`` new Observation ids from the sequence (PostgreSQL; asyncpg connection)."""
    return [int(r[0]) for r in await driver.fetch(RESERVE_IDS, count)]


async def _copy_rows(session: AsyncSession, names: list[str], lists: list[list[Any]]) -> list[int]:
    """Insert column lists through the driver (COPY on PostgreSQL, executemany on SQLite)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    count = len(lists[0])
    if connection.dialect.name == "postgresql":
        ids = await reserve_observation_ids(driver, count)
        await driver.copy_records_to_table(
            "sta_observations", records=zip(ids, *lists, strict=True), columns=("id", *names)
        )
        return ids
    converted = [
        sqlite_times(values) if name in TIME_COLUMNS else values
        for name, values in zip(names, lists, strict=True)
    ]
    statement = _sqlite_insert_for(tuple(names))
    cursor = await driver.executemany(statement, zip(*converted, strict=True))
    await cursor.close()
    cursor = await driver.execute("SELECT last_insert_rowid()")
    last = (await cursor.fetchone())[0]
    await cursor.close()
    return list(range(int(last) - count + 1, int(last) + 1))


@lru_cache(maxsize=32)
def _sqlite_insert_for(names: tuple[str, ...]) -> str:
    return str(
        insert(m.OBSERVATIONS).values({c: None for c in names}).compile(dialect=sqlite_dialect.dialect())
    )


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


COLUMNS = (
    "datastream_id",
    "multi_datastream_id",
    "feature_of_interest_id",
    "phenomenon_time",
    "phenomenon_time_end",
    "result_time",
    "result_type",
    "result_number",
    "result_string",
    "result_json",
    "result_quality",
    "valid_time_start",
    "valid_time_end",
    "parameters",
    "client_key",
)
TIME_COLUMNS = frozenset(
    {"phenomenon_time", "phenomenon_time_end", "result_time", "valid_time_start", "valid_time_end"}
)
JSON_COLUMNS = frozenset({"result_json", "result_quality", "parameters"})
# The INSERT statement with positional parameters, compiled once by SQLAlchemy for sqlite3.
_SQLITE_INSERT = str(
    insert(m.OBSERVATIONS).values({c: None for c in COLUMNS}).compile(dialect=sqlite_dialect.dialect())
)


SMALL_BATCH = 256
_PG_TYPES = {
    "datastream_id": "int",
    "multi_datastream_id": "int",
    "feature_of_interest_id": "int",
    "result_type": "int",
    "result_number": "float8",
    "result_string": "text",
    "client_key": "text",
}
# The rows as a set with ids from the sequence, computed once (a CTE with nextval is materialised), so
# every use and the answer see the same ids; ``position`` keeps the order of the rows given. Built from the
# module's own column names only, never from input; the values travel as bind parameters ($1 … $15).
PG_UNNEST_SOURCE = (
    # S608: constant identifiers only, no input in the text.
    "WITH src AS (SELECT nextval('sta_observations_id_seq') AS id, u.* FROM unnest("  # noqa: S608
    + ", ".join(
        f"${i}::{'timestamptz' if c in TIME_COLUMNS else 'text' if c in JSON_COLUMNS else _PG_TYPES[c]}[]"
        for i, c in enumerate(COLUMNS, start=1)
    )
    + f") WITH ORDINALITY AS u({', '.join(COLUMNS)}, position))"
)
_PG_INSERT_SMALL = (
    # S608: constant identifiers only, no input in the text.
    PG_UNNEST_SOURCE  # noqa: S608
    + f", ins AS (INSERT INTO sta_observations (id, {', '.join(COLUMNS)}) SELECT id, "
    + ", ".join(f"{c}::jsonb" if c in JSON_COLUMNS else c for c in COLUMNS)
    + " FROM src) SELECT id FROM src ORDER BY position"
)


async def bulk_insert(session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Insert observation rows through the driver's own bulk path, in the session's transaction.

    SQLAlchemy's per-row bind processing costs more than the database itself here, so the rows go to
    ``executemany`` (SQLite) or binary ``COPY`` (PostgreSQL) directly, formatted the way SQLAlchemy stores
    them. Ids: SQLite hands out consecutive rowids within one write transaction (one writer at a time);
    PostgreSQL takes them from the sequence first.
    """
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if connection.dialect.name == "postgresql" and len(rows) <= SMALL_BATCH:
        # Group commits of single POSTs: one round trip instead of three (ids, COPY start, COPY data).
        columns = [
            [json.dumps(row[c]) if row[c] is not None else None for row in rows]
            if c in JSON_COLUMNS
            else [row[c] for row in rows]
            for c in COLUMNS
        ]
        return [int(r[0]) for r in await driver.fetch(_PG_INSERT_SMALL, *columns)]
    if connection.dialect.name == "postgresql":
        ids = await reserve_observation_ids(driver, len(rows))
        records = [
            (
                ident,
                *(
                    json.dumps(row[c]) if c in JSON_COLUMNS and row[c] is not None else row[c]
                    for c in COLUMNS
                ),
            )
            for ident, row in zip(ids, rows, strict=True)
        ]
        await driver.copy_records_to_table("sta_observations", records=records, columns=("id", *COLUMNS))
        return ids
    values = [tuple(_sqlite_value(c, row[c]) for c in COLUMNS) for row in rows]
    cursor = await driver.executemany(_SQLITE_INSERT, values)
    await cursor.close()
    cursor = await driver.execute("SELECT last_insert_rowid()")
    last = (await cursor.fetchone())[0]
    await cursor.close()
    return list(range(int(last) - len(rows) + 1, int(last) + 1))


def _sqlite_value(column: str, value: Any) -> Any:
    """The value as SQLAlchemy's SQLite types store it (UTC text timestamps, JSON text)."""
    if value is None:
        return None
    if column in TIME_COLUMNS:
        return sqlite_time(value.astimezone(UTC))
    if column in JSON_COLUMNS:
        return json.dumps(value)
    return value


async def _update_stream(session: AsyncSession, stream: StreamInfo, rows: list[dict[str, Any]]) -> None:
    """Widen the stream's phenomenonTime and resultTime to cover the new observations."""
    starts = [r["phenomenon_time"] for r in rows]
    ends = [r["phenomenon_time_end"] or r["phenomenon_time"] for r in rows]
    result_times = [r["result_time"] for r in rows if r["result_time"] is not None]
    params: dict[str, Any] = {"stream_id": stream.id, "p_start": min(starts), "p_end": max(ends)}
    area = await _observed_area(session, stream, {r["feature_of_interest_id"] for r in rows})
    if area is not None:
        params["area"] = area
    if result_times:
        params["r_start"] = min(result_times)
        params["r_end"] = max(result_times)
    statement = _stream_update(stream.multi, area is not None, bool(result_times))
    await session.execute(statement, params)


@lru_cache(maxsize=8)
def _stream_update(multi: bool, with_area: bool, with_result_time: bool) -> Any:
    table = m.MULTI_DATASTREAMS if multi else m.DATASTREAMS
    c = table.c

    def param(name: str, column: Any) -> Any:
        return bindparam(name, type_=column.type)

    values: dict[str, Any] = {
        "phenomenon_time_start": _least(c.phenomenon_time_start, param("p_start", c.phenomenon_time_start)),
        "phenomenon_time_end": _greatest(c.phenomenon_time_end, param("p_end", c.phenomenon_time_end)),
    }
    if with_area:
        values["observed_area"] = param("area", c.observed_area)
    if with_result_time:
        values["result_time_start"] = _least(c.result_time_start, param("r_start", c.result_time_start))
        values["result_time_end"] = _greatest(c.result_time_end, param("r_end", c.result_time_end))
    return update(table).where(c.id == bindparam("stream_id")).values(**values)


async def _observed_area(
    session: AsyncSession, stream: StreamInfo, feature_ids: set[int]
) -> dict[str, Any] | None:
    """The stream's observedArea widened by these features' boxes (None when it does not change).

    Stored as the envelope (GM_Envelope) of every feature observed: a Polygon, or a Point for one place.
    """
    known = {f for f in feature_ids if f is not None}
    if not known:
        return None
    if known == {stream.feature_id} and stream.feature_box is not None:
        # The usual case: the stream's own generated feature, whose box came with the stream.
        return widened_area(stream.observed_area, list(stream.feature_box))
    row = (
        await session.execute(
            select(
                func.min(m.FEATURES.c.min_x),
                func.min(m.FEATURES.c.min_y),
                func.max(m.FEATURES.c.max_x),
                func.max(m.FEATURES.c.max_y),
            ).where(m.FEATURES.c.id.in_(sorted(known)))
        )
    ).first()
    if row is None or row[0] is None:
        return None
    return widened_area(stream.observed_area, [float(row[0]), float(row[1]), float(row[2]), float(row[3])])


def widened_area(current: dict[str, Any] | None, box: list[float]) -> dict[str, Any] | None:
    """The envelope of ``current`` and ``box``; None when ``current`` already covers the box."""
    old = envelope_box(current) if current else None
    if old is not None:
        merged = [min(old[0], box[0]), min(old[1], box[1]), max(old[2], box[2]), max(old[3], box[3])]
        if merged == old:
            return None
        box = merged
    return envelope(box)


def envelope_box(geometry: dict[str, Any]) -> list[float] | None:
    coordinates = geometry.get("coordinates")
    if geometry.get("type") == "Point" and isinstance(coordinates, list) and len(coordinates) >= 2:
        return [coordinates[0], coordinates[1], coordinates[0], coordinates[1]]
    if geometry.get("type") == "Polygon" and isinstance(coordinates, list) and coordinates:
        xs = [p[0] for p in coordinates[0]]
        ys = [p[1] for p in coordinates[0]]
        return [min(xs), min(ys), max(xs), max(ys)]
    return None


def envelope(box: list[float]) -> dict[str, Any]:
    min_x, min_y, max_x, max_y = box
    if min_x == max_x and min_y == max_y:
        return {"type": "Point", "coordinates": [min_x, min_y]}
    ring = [[min_x, min_y], [max_x, min_y], [max_x, max_y], [min_x, max_y], [min_x, min_y]]
    return {"type": "Polygon", "coordinates": [ring]}


def _least(column: Any, value: Any) -> Any:
    return case((column.is_(None), value), (column > value, value), else_=column)


def _greatest(column: Any, value: Any) -> Any:
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
    await session.execute(_latest_upsert(dialect), values)


@lru_cache(maxsize=2)
def _latest_upsert(dialect: str) -> Any:
    """INSERT … ON CONFLICT for the latest-value table; the values come as parameters."""
    table = m.LATEST
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    columns = [c.name for c in table.columns if c.name != "datastream_id"]
    return statement.on_conflict_do_update(
        index_elements=[table.c.datastream_id],
        set_={name: statement.excluded[name] for name in columns},
        where=table.c.phenomenon_time <= statement.excluded.phenomenon_time,
    )
