"""Group commit for single observations.

Each single-observation POST (and MQTT publish) would otherwise cost its own transaction: a handful of
round trips and a disk sync. The batcher collects what arrives while one transaction is being written and
stores it together in the next; every caller gets its id only after that commit, so an acknowledged
observation is durable. A failure is reported to the callers of the failing Datastream only (savepoints).

With ``publish`` set, the events of the created Observations (built from the rows as written, no read-back)
are published after the commit.

On PostgreSQL the usual group (one plain Datastream) is written by ``pg_group_commit`` in two round trips
and commits on its own; only the other groups share a SQLAlchemy transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from stadtkern.core.clock import Clock
from stadtkern.db.engine import lock_for_writing
from stadtkern.sensorthings import pg_group_commit
from stadtkern.sensorthings.errors import Forbidden
from stadtkern.sensorthings.event_rows import created_events, inserted_events
from stadtkern.sensorthings.events import EntityEvent
from stadtkern.sensorthings.ingest import ObservationInput, StreamInfo, store_observations, stream_info
from stadtkern.sensorthings.keys import KeyGrant

MAX_BATCH = 2000


@dataclass
class _Pending:
    datastream_id: int | None
    multi_datastream_id: int | None
    item: ObservationInput
    future: asyncio.Future[int]
    # A key restricted to some Things/Datastreams: checked against the stream the batch reads anyway.
    grant: KeyGrant | None = None


def _admitted(members: list[_Pending], stream: StreamInfo) -> list[_Pending]:
    """The members whose key may write to the stream; the others learn why (403)."""
    admitted = []
    for pending in members:
        if pending.grant is None or pending.grant.allows(thing_id=stream.thing_id, datastream_id=stream.id):
            admitted.append(pending)
        elif not pending.future.done():
            pending.future.set_exception(Forbidden(f"this key may not write to Datastreams({stream.id})"))
    return admitted


class ObservationBatcher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None
        engine = sessions.kw.get("bind")
        self._postgres = (
            engine if isinstance(engine, AsyncEngine) and engine.dialect.name == "postgresql" else None
        )
        # Set by the publishing service: receives the events of each committed batch.
        self.publish: Callable[[list[EntityEvent]], None] | None = None
        self.event_base_url = ""

    async def submit(
        self,
        item: ObservationInput,
        *,
        datastream_id: int | None = None,
        multi_datastream_id: int | None = None,
        grant: KeyGrant | None = None,
    ) -> int:
        """Store one observation with whatever else is arriving; returns its id once committed.

        ``grant``: a restricted key (Datastreams only); it is checked against the stream before storing."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(datastream_id, multi_datastream_id, item, future, grant))
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
        if self._postgres is not None:
            groups = await self._store_plain_groups(self._postgres, groups)
            if not groups:
                return
        results: list[tuple[list[_Pending], list[int] | BaseException]] = []
        events: list[EntityEvent] = []
        async with self.sessions() as session, session.begin():
            await lock_for_writing(session)
            now = self.clock.now()
            isolate = len(groups) > 1  # a savepoint per stream only when one stream could sink the others
            for (datastream_id, multi_id), members in groups.items():
                try:
                    async with session.begin_nested() if isolate else contextlib.nullcontext():
                        if any(p.grant is not None for p in members):
                            members = _admitted(members, await stream_info(session, datastream_id, multi_id))
                            if not members:
                                continue
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

    async def _store_plain_groups(
        self, engine: AsyncEngine, groups: dict[tuple[int | None, int | None], list[_Pending]]
    ) -> dict[tuple[int | None, int | None], list[_Pending]]:
        """Store each plain Datastream's group in one statement; returns the groups left for the general path."""
        rest: dict[tuple[int | None, int | None], list[_Pending]] = {}
        async with pg_group_commit.PlainWriter.connect(engine) as writer:
            for key, members in groups.items():
                datastream_id, _multi = key
                if datastream_id is None:
                    rest[key] = members
                    continue
                try:
                    stream = await writer.stream(datastream_id)
                    members = _admitted(members, stream)
                    inserted = await writer.store(stream, [p.item for p in members]) if members else None
                except Exception as exc:  # this group's statement failed as a whole: its callers learn why
                    for pending in members:
                        if not pending.future.done():
                            pending.future.set_exception(exc)
                    continue
                if inserted is None:
                    if members:
                        rest[key] = members
                    continue
                for pending, ident in zip(members, inserted.ids, strict=True):
                    if not pending.future.done():
                        pending.future.set_result(ident)
                if self.publish is not None:
                    self.publish(created_events(inserted, self.event_base_url))
        return rest
