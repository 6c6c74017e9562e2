"""Group commit of single observations on PostgreSQL in two round trips.

The general ingest (``ingest.store_observations`` in a SQLAlchemy transaction) costs about six round trips
per batch: BEGIN, the stream, the insert, the stream's time range, the latest value, COMMIT. Under many
concurrent single POSTs every client waits for the batch it is in, so the rate is bounded by those round
trips, not by the work (measured in docs/benchmarks.md, figure 2). For the usual batch, observations of
one plain Datastream on its Thing's generated FeatureOfInterest, this module instead reads the stream
once and then writes everything in ONE statement on the raw driver outside any explicit transaction: the
insert, the stream's time range and observedArea, and the latest-value upsert are data-modifying CTEs of
one statement, which PostgreSQL runs and commits atomically. The rows are built by ``ingest.observation_row``, so
validation and the stored values are the same as on the general path (a test compares both).

Everything else (MultiDatastreams, de-duplicating streams, observations naming their own feature, a
Thing whose feature is not made yet) returns ``None`` and takes the general path.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.ingest import (
    COLUMNS,
    JSON_COLUMNS,
    PG_UNNEST_SOURCE,
    IngestError,
    Inserted,
    ObservationInput,
    StreamInfo,
    observation_row,
    stream_info_query,
    widened_area,
)

# Constant identifiers from the models only; every value travels as a bind parameter.
_N = len(COLUMNS)
_LATEST_COLUMNS = ("observation_id", "phenomenon_time", "result_type", "result_number", "result_string")
_ONE_STATEMENT = (
    # S608: table and column names from the models, no input in the text.
    PG_UNNEST_SOURCE  # noqa: S608
    + f", ins AS (INSERT INTO {m.OBSERVATIONS.name} (id, {', '.join(COLUMNS)}) SELECT id, "
    + ", ".join(f"{c}::jsonb" if c in JSON_COLUMNS else c for c in COLUMNS)
    + " FROM src)"
    # LEAST/GREATEST skip NULLs in PostgreSQL: an empty range takes the new bounds as they are.
    + f", stream AS (UPDATE {m.DATASTREAMS.name} SET"
    + f" phenomenon_time_start = LEAST(phenomenon_time_start, ${_N + 2}),"
    + f" phenomenon_time_end = GREATEST(phenomenon_time_end, ${_N + 3}),"
    + f" result_time_start = LEAST(result_time_start, ${_N + 4}),"
    + f" result_time_end = GREATEST(result_time_end, ${_N + 5}),"
    + f" observed_area = COALESCE(${_N + 6}::jsonb, observed_area)"
    + f" WHERE id = ${_N + 1} RETURNING id AS stream_id)"
    # Reading from ``stream`` makes the stream's row lock come before the latest value's, the order of
    # the general path: unordered, the two deadlocked with a concurrent MQTT batch (test_durability).
    + f", latest AS (INSERT INTO {m.LATEST.name} (datastream_id, {', '.join(_LATEST_COLUMNS)}, result_json)"
    + " SELECT stream_id, src.id, phenomenon_time, result_type, result_number, result_string,"
    + " result_json::jsonb FROM src CROSS JOIN stream"
    + " ORDER BY phenomenon_time DESC, src.id DESC LIMIT 1"
    + " ON CONFLICT (datastream_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in (*_LATEST_COLUMNS, "result_json"))
    + f" WHERE {m.LATEST.name}.phenomenon_time <= excluded.phenomenon_time)"
    + " SELECT id FROM src ORDER BY position"
)


@lru_cache(maxsize=2)
def _stream_info_sql(dialect: Dialect) -> str:
    """The general path's stream query, compiled once for asyncpg ($1 = stream id, $2 = limit 1)."""
    return str(stream_info_query(False).compile(dialect=dialect))


def _stream_from(row: Any) -> StreamInfo:
    area = row["observed_area"]
    box = None
    if row["feature_id"] is not None and row["feature_min_x"] is not None:
        box = (row["feature_min_x"], row["feature_min_y"], row["feature_max_x"], row["feature_max_y"])
    return StreamInfo(
        row["id"],
        False,
        row["thing_id"],
        row["deduplicate"],
        None,
        observed_area=json.loads(area) if isinstance(area, str) else area,
        access=row["access"],
        organisation=row["organisation"],
        owner_user_id=row["owner_user_id"],
        feature_id=row["feature_id"],
        feature_box=box,
    )


class PlainWriter:
    """One pooled connection's raw driver, used outside any explicit transaction: each statement commits."""

    def __init__(self, driver: Any, dialect: Dialect) -> None:
        self.driver = driver
        self.dialect = dialect

    @classmethod
    @asynccontextmanager
    async def connect(cls, engine: AsyncEngine) -> AsyncIterator[PlainWriter]:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            yield cls(raw.driver_connection, engine.dialect)

    async def stream(self, datastream_id: int) -> StreamInfo:
        found = await self.driver.fetchrow(_stream_info_sql(self.dialect), datastream_id, 1)
        if found is None:
            raise IngestError(f"Datastreams({datastream_id}) does not exist")
        return _stream_from(found)

    async def store(self, stream: StreamInfo, items: Sequence[ObservationInput]) -> Inserted | None:
        """Store the observations, committed on return; None when the general path must store them."""
        if (
            stream.deduplicate
            or stream.feature_id is None
            or stream.feature_box is None
            or any(item.feature_of_interest_id is not None for item in items)
        ):
            return None
        rows = [observation_row(stream, item, stream.feature_id) for item in items]
        ids = await self.driver.fetch(_ONE_STATEMENT, *_columns(rows), *_stream_bounds(stream, rows))
        return Inserted(stream, rows, [int(r[0]) for r in ids])


def _columns(rows: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [json.dumps(row[c]) if row[c] is not None else None for row in rows]
        if c in JSON_COLUMNS
        else [row[c] for row in rows]
        for c in COLUMNS
    ]


def _stream_bounds(stream: StreamInfo, rows: list[dict[str, Any]]) -> tuple[Any, ...]:
    """$N+1 … $N+6: the stream, its new phenomenonTime and resultTime bounds and the widened area."""
    starts = [r["phenomenon_time"] for r in rows]
    ends = [r["phenomenon_time_end"] or r["phenomenon_time"] for r in rows]
    result_times: list[datetime] = [r["result_time"] for r in rows if r["result_time"] is not None]
    assert stream.feature_box is not None
    area = widened_area(stream.observed_area, list(stream.feature_box))
    return (
        stream.id,
        min(starts),
        max(ends),
        min(result_times) if result_times else None,
        max(result_times) if result_times else None,
        json.dumps(area) if area is not None else None,
    )
