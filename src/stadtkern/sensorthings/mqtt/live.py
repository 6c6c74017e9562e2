"""Entity events from rows, and a SensorThings service that publishes them after each committed write.

``PublishingService`` is an adapter until the service itself publishes events (see
docs/decisions/0004-sensorthings-mqtt.md): the HTTP API picks it up from ``app.state.sensorthings``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.clock import Clock
from stadtkern.sensorthings.entities import ENTITY_TYPES, EntityType
from stadtkern.sensorthings.event_rows import observation_event, stream_access
from stadtkern.sensorthings.events import EntityEvent, EventBus, EventKind, StreamAccess
from stadtkern.sensorthings.keys import KeyGrant
from stadtkern.sensorthings.serialize import entity_json
from stadtkern.sensorthings.service import Created, SensorThingsService

log = logging.getLogger("stadtkern.sensorthings.mqtt")
OBSERVATION = ENTITY_TYPES["Observation"]


async def entity_event(
    session: AsyncSession, entity: EntityType, entity_id: int, base_url: str, kind: EventKind
) -> EntityEvent | None:
    """The event for one entity as it is now in the database (None if it is gone)."""
    table = entity.table
    row = (await session.execute(select(table).where(table.c.id == entity_id))).mappings().first()
    if row is None:
        return None
    if entity.name == "Observation":
        multi = row["datastream_id"] is None
        stream_id = row["multi_datastream_id"] if multi else row["datastream_id"]
        stream = await stream_access(session, multi=multi, stream_id=int(stream_id))
        return observation_event(row, base_url, stream, kind)
    stream = None
    if entity.name in ("Datastream", "MultiDatastream"):
        stream = StreamAccess(
            entity.name == "MultiDatastream",
            entity_id,
            row["thing_id"],
            row["access"],
            row["organisation"],
            row["owner_user_id"],
        )
    return EntityEvent(
        kind, entity.set_name, entity_id, entity_json(entity, dict(row), base_url, None), stream
    )


class PublishingService(SensorThingsService):
    """The SensorThings service, publishing an event after every committed create and update."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        dialect: str,
        *,
        bus: EventBus,
        base_url: str,
    ) -> None:
        super().__init__(sessions, clock, dialect)
        self.bus = bus
        self.event_base_url = base_url
        self.batcher.publish = bus.publish
        self.batcher.event_base_url = base_url

    async def create(self, path_text: str, body: Any, *, grant: KeyGrant, base_url: str) -> Created:
        created = await super().create(path_text, body, grant=grant, base_url=base_url)
        if not created.announced:
            await self._announce(created.entity, created.id, "create")
        return created

    async def update(self, path_text: str, body: Any, *, grant: KeyGrant, replace_all: bool) -> None:
        await super().update(path_text, body, grant=grant, replace_all=replace_all)
        entity, key = self._single(path_text)
        await self._announce(entity, key, "update")

    async def _announce(self, entity: EntityType, entity_id: int, kind: EventKind) -> None:
        try:
            async with self.sessions() as session:
                event = await entity_event(session, entity, entity_id, self.event_base_url, kind)
        except Exception:  # the write is committed; a failed notification must not turn it into an error
            log.exception("could not publish the %s event of %s(%s)", kind, entity.set_name, entity_id)
            return
        if event is not None:
            self.bus.publish([event])
