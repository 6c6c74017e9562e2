"""Group commit of Observations arriving over MQTT.

Publishes are collected for a few milliseconds (or for as long as the previous transaction takes), then
stored in ONE transaction through ``ingest.store_observations`` (one call per stream), and only after
the commit are their futures resolved: the endpoint sends PUBACK then. An observation the ingest refuses
(``IngestError``, bad values) is isolated by retrying its group item by item, so one bad message does not
sink the others. A database failure fails the whole batch with ``StoreUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.clock import Clock
from stadtkern.db.engine import lock_for_writing
from stadtkern.sensorthings.event_rows import inserted_events
from stadtkern.sensorthings.events import EntityEvent, StreamAccess
from stadtkern.sensorthings.ingest import IngestError, ObservationInput, store_observations
from stadtkern.sensorthings.values import ValueError_

log = logging.getLogger("stadtkern.sensorthings.mqtt")


# Errors that are the message's fault: retrying the same message cannot succeed.
PERMANENT = (IngestError, ValueError_, IntegrityError)


class Rejected(Exception):
    """The observation can never be stored as sent (permanent)."""


class StoreUnavailable(Exception):
    """Storing failed for a reason that is not the message's fault (transient)."""


@dataclass(eq=False)
class Pending:
    stream: StreamAccess
    item: ObservationInput
    future: asyncio.Future[None]


class GroupCommitter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        base_url: str,
        publish: Callable[[list[EntityEvent]], None],
        *,
        max_delay: float = 0.004,
        max_batch: int = 5000,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.base_url = base_url
        self.publish = publish
        self.max_delay = max_delay
        self.max_batch = max_batch
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.stored = 0
        self.rejected = 0
        self.batches = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="stadtkern-mqtt-commit")

    async def stop(self) -> None:
        """Store what is pending, then stop."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for pending in self._pending:
            if not pending.future.done():
                pending.future.set_exception(StoreUnavailable("the endpoint is stopping"))
        self._pending.clear()

    def submit(self, stream: StreamAccess, item: ObservationInput) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closing:
            future.set_exception(StoreUnavailable("the endpoint is stopping"))
            return future
        self._pending.append(Pending(stream, item, future))
        self._wake.set()
        return future

    async def _run(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                if not self._pending:
                    continue
                # The first message after a pause: give its companions a moment to arrive.
                if not self._closing and len(self._pending) < self.max_batch:
                    await asyncio.sleep(self.max_delay)
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            await self._store(batch)

    async def _store(self, batch: list[Pending]) -> None:
        groups: dict[tuple[bool, int], list[Pending]] = {}
        for pending in batch:
            groups.setdefault((pending.stream.multi, pending.stream.id), []).append(pending)
        try:
            events = await self._transaction(list(groups.values()))
        except PERMANENT as exc:
            if len(batch) == 1:
                self._reject(batch[0], exc)
                return
            # Find the bad ones: each group alone, then each item of a failing group alone.
            for group in groups.values():
                await self._store_alone(group)
            return
        except Exception as exc:
            log.exception("storing %d MQTT observations failed; no PUBACK is sent", len(batch))
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(StoreUnavailable(str(exc)))
            return
        self._succeed(batch, events)

    async def _store_alone(self, group: list[Pending]) -> None:
        try:
            events = await self._transaction([group])
        except PERMANENT as exc:
            if len(group) == 1:
                self._reject(group[0], exc)
                return
            for pending in group:
                await self._store_alone([pending])
            return
        except Exception as exc:
            log.exception("storing %d MQTT observations failed; no PUBACK is sent", len(group))
            for pending in group:
                if not pending.future.done():
                    pending.future.set_exception(StoreUnavailable(str(exc)))
            return
        self._succeed(group, events)

    async def _transaction(self, groups: list[list[Pending]]) -> list[EntityEvent]:
        now = self.clock.now()
        events: list[EntityEvent] = []
        async with self.sessions() as session, session.begin():
            await lock_for_writing(session)
            for group in groups:
                stream = group[0].stream
                inserted = await store_observations(
                    session,
                    [p.item for p in group],
                    datastream_id=None if stream.multi else stream.id,
                    multi_datastream_id=stream.id if stream.multi else None,
                    now=now,
                )
                events.extend(await inserted_events(session, inserted, self.base_url))
        return events

    def _succeed(self, batch: list[Pending], events: list[EntityEvent]) -> None:
        self.batches += 1
        self.stored += len(batch)
        for pending in batch:
            if not pending.future.done():
                pending.future.set_result(None)
        if events:
            self.publish(events)

    def _reject(self, pending: Pending, exc: Exception) -> None:
        self.rejected += 1
        if not pending.future.done():
            pending.future.set_exception(Rejected(str(exc)))
