"""The simulation engine: asks the generators for readings and writes them through the SensorThings ingest.

Writing goes through :func:`stadtkern.sensorthings.ingest.insert_columns`, the function the service's
``CreateObservations`` (dataArray) uses for blocks of plain times and numbers, in one write transaction
per batch: the same validation, FeatureOfInterest, Datastream ranges and latest values as every other way
in, never around it into the tables.

Re-running a range stores nothing twice. Before writing a window of a Datastream, the engine counts what
is stored there: nothing, it writes everything; as many as the generator yields, it skips the window;
otherwise (an interrupted run) it reads the stored phenomenon times of that window and writes only the
others. As readings are deterministic for (seed, asset code, time), this resumes any interrupted run and
makes real time continue where a backfill stopped. (Client ids on deduplicated Datastreams would do the
same row by row, at a fraction of the bulk speed.)
"""

from __future__ import annotations

import time as timer
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.db.engine import lock_for_writing
from stadtkern.sensorthings import models as m
from stadtkern.sensorthings.event_rows import inserted_events
from stadtkern.sensorthings.events import EntityEvent
from stadtkern.sensorthings.ingest import ObservationInput, insert_columns, store_observations
from stadtkern.simulator.protocol import Asset, Generator, SimulationContext

WINDOW = timedelta(days=7)  # time window written per batch in a backfill
BATCH_ROWS = 150_000  # readings per write transaction (about)


@dataclass(frozen=True)
class Target:
    """An asset and the generator of its type."""

    asset: Asset
    generator: Generator


@dataclass(frozen=True)
class Block:
    """Readings of one Datastream, ascending in time."""

    datastream_id: int
    times: list[datetime]
    values: list[float | int]


@dataclass(frozen=True)
class Announcer:
    """Where new observations are announced (the app's event bus: MQTT subscribers, live pages)."""

    publish: Callable[[list[EntityEvent]], None]
    base_url: str


@dataclass
class Result:
    observations: int = 0
    skipped: int = 0
    seconds: float = 0.0
    by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def rate(self) -> float:
        return self.observations / self.seconds if self.seconds > 0 else 0.0


def generators_by_type(generators: Iterable[Any]) -> dict[str, Generator]:
    """Asset type key -> generator; a second generator for the same type is an error."""
    found: dict[str, Generator] = {}
    for generator in generators:
        if not isinstance(generator, Generator):
            raise TypeError(f"{generator!r} is not a simulator generator (asset_type and readings)")
        if generator.asset_type in found:
            raise ValueError(f"two generators for the asset type {generator.asset_type!r}")
        found[generator.asset_type] = generator
    return found


def targets(assets: Iterable[Asset], generators: dict[str, Generator]) -> list[Target]:
    """The assets that have a generator and provisioned Datastreams, in a stable order."""
    return [
        Target(asset, generators[asset.type_key])
        for asset in sorted(assets, key=lambda a: a.code)
        if asset.type_key in generators and asset.datastreams
    ]


def generate(target: Target, start: datetime, end: datetime, context: SimulationContext) -> list[Block]:
    """The target's readings in ``[start, end)`` as one block per Datastream it has."""
    series = getattr(target.generator, "series", None)
    if series is not None:
        columns = series(target.asset, start, end, context)
    else:
        grouped: dict[str, tuple[list[datetime], list[float | int]]] = {}
        for key, moment, value in target.generator.readings(target.asset, start, end, context):
            times, values = grouped.setdefault(key, ([], []))
            times.append(moment)
            values.append(value)
        columns = grouped
    blocks = []
    for key, (times, values) in columns.items():
        datastream_id = target.asset.datastreams.get(key)
        if datastream_id is not None and times:
            blocks.append(Block(datastream_id, list(times), list(values)))
    return blocks


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def _stored_counts(
    session: AsyncSession, ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, int]:
    table = m.OBSERVATIONS
    counts: dict[int, int] = {}
    for first in range(0, len(ids), 500):
        chunk = list(ids[first : first + 500])
        rows = await session.execute(
            select(table.c.datastream_id, func.count())
            .where(
                table.c.datastream_id.in_(chunk),
                table.c.phenomenon_time >= start,
                table.c.phenomenon_time < end,
            )
            .group_by(table.c.datastream_id)
        )
        counts.update({int(ds): int(n) for ds, n in rows.all()})
    return counts


async def _stored_times(session: AsyncSession, ds: int, start: datetime, end: datetime) -> set[datetime]:
    table = m.OBSERVATIONS
    rows = await session.scalars(
        select(table.c.phenomenon_time).where(
            table.c.datastream_id == ds, table.c.phenomenon_time >= start, table.c.phenomenon_time < end
        )
    )
    return {_utc(t) for t in rows.all()}


async def missing(
    session: AsyncSession, blocks: list[Block], start: datetime, end: datetime
) -> tuple[list[Block], int]:
    """The blocks without the readings already stored in ``[start, end)``, and how many were dropped."""
    counts = await _stored_counts(session, [b.datastream_id for b in blocks], start, end)
    kept: list[Block] = []
    skipped = 0
    for block in blocks:
        stored = counts.get(block.datastream_id, 0)
        if stored == 0:
            kept.append(block)
            continue
        if stored >= len(block.times):
            skipped += len(block.times)
            continue
        have = await _stored_times(session, block.datastream_id, start, end)
        pairs = [(t, v) for t, v in zip(block.times, block.values, strict=True) if t not in have]
        skipped += len(block.times) - len(pairs)
        if pairs:
            kept.append(Block(block.datastream_id, [t for t, _ in pairs], [v for _, v in pairs]))
    return kept, skipped


async def write(session: AsyncSession, blocks: list[Block], now: datetime) -> int:
    """Store the blocks through the ingest, in the session's transaction; returns the number stored."""
    stored = 0
    for block in blocks:
        columns: dict[str, list[Any]] = {
            "phenomenon_time": block.times,
            "result_number": [float(v) for v in block.values],
            "result_type": [m.RESULT_INT if type(v) is int else m.RESULT_FLOAT for v in block.values],
        }
        await insert_columns(session, columns, datastream_id=block.datastream_id, now=now)
        stored += len(block.times)
    return stored


async def write_announced(
    session: AsyncSession, blocks: list[Block], now: datetime, base_url: str
) -> tuple[int, list[EntityEvent]]:
    """Like :func:`write`, through the ingest's row path (as single POSTs take), returning the create
    events of what was stored, to publish after the commit. For the few readings of a real-time tick."""
    stored = 0
    events: list[EntityEvent] = []
    for block in blocks:
        items = [
            ObservationInput(phenomenon_time=moment, phenomenon_time_end=None, result=value)
            for moment, value in zip(block.times, block.values, strict=True)
        ]
        inserted = await store_observations(session, items, datastream_id=block.datastream_id, now=now)
        events += await inserted_events(session, inserted, base_url)
        stored += len(items)
    return stored, events


def windows(start: datetime, end: datetime, size: timedelta = WINDOW) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into windows of ``size`` (the last one shorter)."""
    cuts = []
    at = start
    while at < end:
        cuts.append((at, min(at + size, end)))
        at += size
    return cuts


def batches(items: Sequence[Target], per_batch: int) -> list[Sequence[Target]]:
    return [items[i : i + per_batch] for i in range(0, len(items), max(1, per_batch))]


async def run(
    sessions: async_sessionmaker[AsyncSession],
    chosen: Sequence[Target],
    start: datetime,
    end: datetime,
    context: SimulationContext,
    *,
    now: Callable[[], datetime],
    window: timedelta = WINDOW,
    per_batch: int | None = None,
    progress: Callable[[int], None] | None = None,
    announcer: Announcer | None = None,
    stopping: Callable[[], bool] | None = None,
) -> Result:
    """Write the readings of ``chosen`` in ``[start, end)`` that are not stored yet.

    ``stopping`` is asked before each batch; once it answers true, the run ends after the batch that is
    being written (a shutdown never cuts a write transaction in half).

    ``progress`` is called with the number of (asset, window) steps done after each batch; there are
    ``len(chosen) * len(windows(start, end, window))`` in all. With an ``announcer`` the new observations
    are published as events after each commit (real time; a backfill would flood the subscribers).
    """
    result = Result()
    began = timer.perf_counter()
    if not chosen or start >= end:
        return result
    cuts = windows(_utc(start), _utc(end), window)
    streams_per_asset = max(1, sum(len(t.asset.datastreams) for t in chosen) // len(chosen))
    slots = max(1, int((cuts[0][1] - cuts[0][0]) / timedelta(minutes=15)))
    per_batch = per_batch or max(1, BATCH_ROWS // (streams_per_asset * slots))
    for low, high in cuts:
        for batch in batches(chosen, per_batch):
            if stopping is not None and stopping():
                result.seconds = timer.perf_counter() - began
                return result
            blocks = [block for target in batch for block in generate(target, low, high, context)]
            events: list[EntityEvent] = []
            async with sessions() as session, session.begin():
                await lock_for_writing(session)
                todo, skipped = await missing(session, blocks, low, high)
                if announcer is None:
                    written = await write(session, todo, now())
                else:
                    written, events = await write_announced(session, todo, now(), announcer.base_url)
            if announcer is not None and events:
                announcer.publish(events)
            result.observations += written
            result.skipped += skipped
            by_stream = {b.datastream_id: len(b.times) for b in todo}
            for target in batch:
                result.by_type[target.asset.type_key] += sum(
                    by_stream.get(ds, 0) for ds in target.asset.datastreams.values()
                )
            if progress is not None:
                progress(len(batch))
    result.seconds = timer.perf_counter() - began
    return result
