"""Group commit for single observations.

Each single-observation POST (and MQTT publish) would otherwise cost its own transaction: a handful of
round trips and a disk sync. The batcher collects what arrives while one transaction is being written and
stores it together in the next; every caller gets its id only after that commit, so an acknowledged
observation is durable. A failure is reported to the callers of the failing Datastream only (savepoints).

With ``publish`` set, the events of the created Observations (built from the rows as written, no read-back)
are published after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.clock import Clock
from stadtkern.db.engine import lock_for_writing
from stadtkern.sensorthings.event_rows import inserted_events
from stadtkern.sensorthings.events import EntityEvent
from stadtkern.sensorthings.ingest import ObservationInput, store_observations

MAX_BATCH = 2000


@dataclass
class _Pending:
    datastream_id: int | None
    multi_datastream_id: int | None
    item: ObservationInput
    future: asyncio.Future[int]


class ObservationBatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        # Set by the publishing service: receives the events of each committed batch.
        self.publish: Callable[[list[EntityEvent]], None] | None = None
        self.event_base_url = ""

    async def submit(
        self,
        item: ObservationInput,
        *,
        datastream_id: int | None = None,
        multi_datastream_id: int | None = None,
    ) -> int:
        """Store one observation with whatever else is arriving; returns its id once committed."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(datastream_id, multi_datastream_id, item, future))
        if self._flusher is None or self._flusher.done():
            # Runs while there is work and ends by itself: no task lingers when the app stops.
            self._flusher = asyncio.create_task(self._flush_while_pending(), name="sta-group-commit")
        return await future

    async def _flush_while_pending(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._store(batch)
            except Exception as exc:  # the transaction itself failed: every caller in it learns why
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)

    async def _store(self, batch: list[_Pending]) -> None:
        groups: dict[tuple[int | None, int | None], list[_Pending]] = defaultdict(list)
        for pending in batch:
            groups[(pending.datastream_id, pending.multi_datastream_id)].append(pending)
        results: list[tuple[list[_Pending], list[int] | BaseException]] = []
        events: list[EntityEvent] = []
        async with self.sessions() as session, session.begin():
            await lock_for_writing(session)
            now = self.clock.now()
            isolate = len(groups) > 1  # a savepoint per stream only when one stream could sink the others
            for (datastream_id, multi_id), members in groups.items():
                try:
                    async with session.begin_nested() if isolate else contextlib.nullcontext():
                        inserted = await store_observations(
                            session,
                            [p.item for p in members],
                            datastream_id=datastream_id,
                            multi_datastream_id=multi_id,
                            now=now,
                        )
                        if self.publish is not None:
                            events.extend(await inserted_events(session, inserted, self.event_base_url))
                    results.append((members, inserted.ids))
                except Exception as exc:  # only this stream's callers fail
                    if not isolate:
                        raise
                    results.append((members, exc))
        # Committed: now, and only now, the callers get their answer.
        for members, outcome in results:
            for index, pending in enumerate(members):
                if pending.future.done():
                    continue
                if isinstance(outcome, BaseException):
                    pending.future.set_exception(outcome)
                else:
                    pending.future.set_result(outcome[index])
        if events and self.publish is not None:
            self.publish(events)
