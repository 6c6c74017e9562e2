"""Entity events built from database rows (shared by the group committers and the publishing service)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.entities import ENTITY_TYPES
from stadtkern.sensorthings.events import EntityEvent, EventKind, StreamAccess
from stadtkern.sensorthings.ingest import Inserted
from stadtkern.sensorthings.serialize import entity_json

OBSERVATION = ENTITY_TYPES["Observation"]


@lru_cache(maxsize=2)
def _stream_access_query(multi: bool) -> Any:
    table = m.MULTI_DATASTREAMS if multi else m.DATASTREAMS
    return select(table.c.thing_id, table.c.access, table.c.organisation, table.c.owner_user_id).where(
        table.c.id == bindparam("stream_id")
    )


# Prebuilt (SQLAlchemy then skips building the statement and its cache key): these run per write batch.
_OBSERVATIONS_BY_ID = select(m.OBSERVATIONS).where(m.OBSERVATIONS.c.id.in_(bindparam("ids", expanding=True)))


async def stream_access(session: AsyncSession, *, multi: bool, stream_id: int) -> StreamAccess | None:
    row = (await session.execute(_stream_access_query(multi), {"stream_id": stream_id})).first()
    if row is None:
        return None
    return StreamAccess(multi, stream_id, row.thing_id, row.access, row.organisation, row.owner_user_id)


def observation_event(
    row: Mapping[Any, Any], base_url: str, stream: StreamAccess | None, kind: EventKind = "create"
) -> EntityEvent:
    return EntityEvent(
        kind,
        "Observations",
        int(row["id"]),
        entity_json(OBSERVATION, dict(row), base_url, None),
        stream,
        row["feature_of_interest_id"],
    )


async def observation_rows(session: AsyncSession, ids: Sequence[int]) -> list[Mapping[Any, Any]]:
    rows: list[Mapping[Any, Any]] = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        result = await session.execute(_OBSERVATIONS_BY_ID, {"ids": chunk})
        rows.extend(result.mappings().all())
    return rows


def _access_of(inserted: Inserted) -> StreamAccess:
    info = inserted.stream
    return StreamAccess(
        info.multi, info.id, info.thing_id, info.access, info.organisation, info.owner_user_id
    )


def created_events(inserted: Inserted, base_url: str) -> list[EntityEvent]:
    """The create events of observations just stored on a stream that keeps every row as sent."""
    stream = _access_of(inserted)
    return [
        observation_event({**row, "id": ident}, base_url, stream)
        for row, ident in zip(inserted.rows, inserted.ids, strict=True)
    ]


async def inserted_events(session: AsyncSession, inserted: Inserted, base_url: str) -> list[EntityEvent]:
    """The create events of observations just stored, built from the rows as written.

    On a Datastream that drops re-sent observations the stored row may be an older one, so those are read
    back instead.
    """
    if inserted.stream.deduplicate:
        stream = _access_of(inserted)
        stored = {int(row["id"]): row for row in await observation_rows(session, inserted.ids)}
        return [observation_event(stored[i], base_url, stream) for i in inserted.ids if i in stored]
    return created_events(inserted, base_url)
