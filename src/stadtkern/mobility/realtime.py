"""GTFS-Realtime TripUpdates (delays, cancellations, skipped stops) from a file or a URL.

A ``FeedMessage`` is parsed with the official bindings (``gtfs-realtime-bindings``) into rows of
``mob_realtime_trip_updates``: one trip-level row per TripUpdate (its relationship, e.g. CANCELED) and
one row per StopTimeUpdate (delay or absolute time, SCHEDULED/SKIPPED/NO_DATA). A FULL_DATASET message
replaces every stored update; a DIFFERENTIAL one replaces the updates of the trips it names. The planner
reads the table (see ``models.RealtimeTripUpdate``).

Besides the updates, the table holds one *feed row* (``trip_id`` empty, :data:`FEED_ROW`): when the last
message was received and its header time, so that the operator sees how fresh the data is even when the
feed names no trip at all. A full dataset equal to the stored one only renews the feed row, so the planner
does not rebuild its timetable for nothing.

With ``STADTKERN_MOBILITY_REALTIME_URL`` set, :func:`poll` runs as a periodic job (``mobility.jobs``):
a failure (unreachable, HTTP error, not a FeedMessage, a stale header time) is logged and the last good
data stays.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from google.protobuf.message import DecodeError
from google.transit import gtfs_realtime_pb2
from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.clock import Clock
from stadtkern.core.i18n import gettext as _
from stadtkern.db.engine import lock_for_writing
from stadtkern.mobility import models as m
from stadtkern.mobility.errors import MobilityError

log = logging.getLogger("stadtkern.mobility.realtime")

MAX_BYTES = 50 * 1024 * 1024
TIMEOUT_SECONDS = 20.0
FEED_ROW = ""  # trip_id of the row that records the last message received (see the module's docstring)


@dataclass
class RealtimeResult:
    trips: int
    stop_updates: int
    canceled: int
    feed_timestamp: datetime | None
    full_dataset: bool
    changed: bool = True  # False: a full dataset equal to the stored one (only the feed row renewed)


@dataclass(frozen=True)
class RealtimeStatus:
    """When realtime data was last received, and the time its producer gave it (feed header)."""

    received_at: datetime
    feed_timestamp: datetime | None


async def read_source(
    source: str, *, http_timeout: float = TIMEOUT_SECONDS, max_bytes: int = MAX_BYTES
) -> bytes:
    """The bytes of a FeedMessage from an http(s) URL or a file path (at most ``max_bytes``)."""
    if source.lower().startswith(("http://", "https://")):
        try:
            async with asyncio.timeout(http_timeout * 2):  # a server that sends slowly, byte by byte
                return await _download(source, http_timeout, max_bytes)
        except TimeoutError as exc:
            raise MobilityError(
                _(
                    "Echtzeitdaten nicht abrufbar: keine Antwort in %(seconds)s s",
                    seconds=int(http_timeout * 2),
                ),
                field="source",
            ) from exc
        except httpx.HTTPError as exc:
            raise MobilityError(
                _("Echtzeitdaten nicht abrufbar: %(reason)s", reason=str(exc) or type(exc).__name__),
                field="source",
            ) from exc
    return await asyncio.to_thread(_read_file, source, max_bytes)


async def _download(url: str, http_timeout: float, max_bytes: int) -> bytes:
    too_big = MobilityError(
        _("Die Echtzeitdaten sind zu groß (mehr als %(mb)s MB).", mb=max_bytes // (1024 * 1024) or 1),
        field="source",
    )
    async with (
        httpx.AsyncClient(timeout=http_timeout, follow_redirects=True) as client,
        client.stream("GET", url) as response,
    ):
        if response.status_code != 200:
            raise MobilityError(
                _("Echtzeitdaten nicht abrufbar: HTTP %(status)s", status=response.status_code),
                field="source",
            )
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise too_big
            chunks.append(chunk)
    return b"".join(chunks)


def _read_file(source: str, max_bytes: int = MAX_BYTES) -> bytes:
    path = Path(source)
    if not path.is_file():
        raise MobilityError(_("Datei %(path)s nicht gefunden.", path=source), field="source")
    if path.stat().st_size > max_bytes:
        raise MobilityError(
            _("Die Echtzeitdaten sind zu groß (mehr als %(mb)s MB).", mb=max_bytes // (1024 * 1024) or 1),
            field="source",
        )
    return path.read_bytes()


def parse(data: bytes, received_at: datetime) -> tuple[list[dict[str, Any]], bool, datetime | None]:
    """Rows for ``mob_realtime_trip_updates``, whether the message is a full dataset, and its time."""
    message = gtfs_realtime_pb2.FeedMessage()
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        raise MobilityError(
            _("Keine GTFS-Realtime-Nachricht (Protocol Buffers nicht lesbar)."), field="source"
        ) from exc
    if not message.HasField("header") or not message.header.gtfs_realtime_version:
        raise MobilityError(_("Der GTFS-Realtime-Nachricht fehlt der Kopf (header)."), field="source")
    header = message.header
    full = header.incrementality != gtfs_realtime_pb2.FeedHeader.DIFFERENTIAL
    stamp = datetime.fromtimestamp(header.timestamp, UTC) if header.HasField("timestamp") else None
    trip_rel = gtfs_realtime_pb2.TripDescriptor.ScheduleRelationship
    stop_rel = gtfs_realtime_pb2.TripUpdate.StopTimeUpdate.ScheduleRelationship
    rows: list[dict[str, Any]] = []
    for entity in message.entity:
        if not entity.HasField("trip_update"):
            continue
        update = entity.trip_update
        trip = update.trip
        if not trip.trip_id:
            continue  # trips named only by route and start time cannot be matched to the timetable
        base: dict[str, Any] = {
            "trip_id": trip.trip_id,
            "route_id": trip.route_id,
            "start_date": _service_date(trip.start_date) if trip.start_date else None,
            "start_time": trip.start_time,
            "trip_relationship": trip_rel.Name(trip.schedule_relationship),
            "feed_timestamp": stamp,
            "received_at": received_at,
        }
        # A delay for the whole trip (TripUpdate.delay) applies from its first stop on.
        trip_delay = update.delay if update.HasField("delay") else None
        rows.append(
            {
                **base,
                "stop_sequence": None,
                "stop_id": None,
                "arrival_delay": trip_delay,
                "departure_delay": trip_delay,
                "arrival_time": None,
                "departure_time": None,
                "relationship": m.SCHEDULED,
            }
        )
        for stu in update.stop_time_update:
            if not stu.HasField("stop_sequence") and not stu.stop_id:
                continue  # the reference requires one of them; such an update names no stop
            arrival = stu.arrival if stu.HasField("arrival") else None
            departure = stu.departure if stu.HasField("departure") else None
            rows.append(
                {
                    **base,
                    "stop_sequence": stu.stop_sequence if stu.HasField("stop_sequence") else None,
                    "stop_id": stu.stop_id or None,
                    "arrival_delay": arrival.delay
                    if arrival is not None and arrival.HasField("delay")
                    else None,
                    "departure_delay": (
                        departure.delay if departure is not None and departure.HasField("delay") else None
                    ),
                    "arrival_time": arrival.time
                    if arrival is not None and arrival.HasField("time")
                    else None,
                    "departure_time": (
                        departure.time if departure is not None and departure.HasField("time") else None
                    ),
                    "relationship": stop_rel.Name(stu.schedule_relationship),
                }
            )
    return rows, full, stamp


def _service_date(value: str) -> date:
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError as exc:
        raise MobilityError(
            _("Ungültiges start_date %(value)s in den Echtzeitdaten (erwartet JJJJMMTT).", value=value),
            field="start_date",
        ) from exc


# Columns that make two stored updates the same update (everything but the row id and the times of receipt).
_SAME = (
    "trip_id",
    "route_id",
    "start_date",
    "start_time",
    "trip_relationship",
    "stop_sequence",
    "stop_id",
    "arrival_delay",
    "departure_delay",
    "arrival_time",
    "departure_time",
    "relationship",
)


def _feed_row(stamp: datetime | None, received_at: datetime) -> dict[str, Any]:
    return {
        "trip_id": FEED_ROW,
        "route_id": "",
        "start_date": None,
        "start_time": "",
        "trip_relationship": m.SCHEDULED,
        "feed_timestamp": stamp,
        "received_at": received_at,
        "stop_sequence": None,
        "stop_id": None,
        "arrival_delay": None,
        "departure_delay": None,
        "arrival_time": None,
        "departure_time": None,
        "relationship": m.SCHEDULED,
    }


async def apply(session: AsyncSession, data: bytes, clock: Clock) -> RealtimeResult:
    """Store the TripUpdates of a FeedMessage (the caller commits)."""
    return await store(session, *parse(data, clock.now()), clock.now())


async def store(
    session: AsyncSession,
    rows: list[dict[str, Any]],
    full: bool,
    stamp: datetime | None,
    received_at: datetime,
) -> RealtimeResult:
    """Store parsed rows (see :func:`parse`) and renew the feed row (the caller commits)."""
    table = m.RealtimeTripUpdate
    trip_rows = [r for r in rows if r["stop_sequence"] is None and r["stop_id"] is None]
    result = RealtimeResult(
        trips=len(trip_rows),
        stop_updates=len(rows) - len(trip_rows),
        canceled=sum(1 for r in trip_rows if r["trip_relationship"] == m.CANCELED),
        feed_timestamp=stamp,
        full_dataset=full,
    )
    await session.execute(delete(table).where(table.trip_id == FEED_ROW))
    await session.execute(insert(table), [_feed_row(stamp, received_at)])
    if full:
        stored = (
            await session.execute(
                select(*(getattr(table, c) for c in _SAME)).where(table.trip_id != FEED_ROW)
            )
        ).all()
        if sorted(map(repr, (tuple(r) for r in stored))) == sorted(
            repr(tuple(r[c] for c in _SAME)) for r in rows
        ):
            result.changed = False
            return result
        await session.execute(delete(table).where(table.trip_id != FEED_ROW))
    else:
        # a trip is named by trip_id, service date and, for one run of a frequency trip, start time
        keys = {(r["trip_id"], r["start_date"], r["start_time"]) for r in rows if r["stop_sequence"] is None}
        dated = [k for k in keys if k[1] is not None]
        undated = [(k[0], k[2]) for k in keys if k[1] is None]
        if dated:
            await session.execute(
                delete(table).where(tuple_(table.trip_id, table.start_date, table.start_time).in_(dated))
            )
        if undated:
            await session.execute(
                delete(table).where(
                    tuple_(table.trip_id, table.start_time).in_(undated), table.start_date.is_(None)
                )
            )
    if rows:
        await session.execute(insert(table), rows)
    return result


async def status(session: AsyncSession) -> RealtimeStatus | None:
    """When realtime data was last received (None: never, or only before this version recorded it)."""
    table = m.RealtimeTripUpdate
    row = (
        await session.execute(
            select(table.received_at, table.feed_timestamp)
            .where(table.trip_id == FEED_ROW)
            .order_by(table.received_at.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return RealtimeStatus(row.received_at, row.feed_timestamp)


async def poll(
    sessions: async_sessionmaker[AsyncSession],
    source: str,
    clock: Clock,
    *,
    max_age: timedelta | None = None,
    http_timeout: float = TIMEOUT_SECONDS,
    max_bytes: int = MAX_BYTES,
) -> RealtimeResult | None:
    """Fetch and store the TripUpdates at ``source``; on any failure log why and keep the last good data.

    Refused as stale: a message whose header time is older than ``max_age`` or older than the message
    stored last (a producer or cache serving an old copy). Returns None when nothing was stored.
    """
    now = clock.now()
    try:
        data = await read_source(source, http_timeout=http_timeout, max_bytes=max_bytes)
        rows, full, stamp = parse(data, now)
        if stamp is not None and max_age is not None and stamp < now - max_age:
            raise MobilityError(
                _(
                    "Die Echtzeitdaten sind veraltet (Stand %(stamp)s, älter als %(seconds)s s).",
                    stamp=stamp.isoformat(timespec="seconds"),
                    seconds=int(max_age.total_seconds()),
                ),
                field="source",
            )
        async with sessions() as session, session.begin():
            await lock_for_writing(session)
            last = await status(session)
            older = last.feed_timestamp if last is not None else None
            if stamp is not None and older is not None and stamp < older:
                raise MobilityError(
                    _(
                        "Die Echtzeitdaten (Stand %(stamp)s) sind älter als die vorhandenen (Stand %(last)s).",
                        stamp=stamp.isoformat(timespec="seconds"),
                        last=older.isoformat(timespec="seconds"),
                    ),
                    field="source",
                )
            result = await store(session, rows, full, stamp, now)
    except MobilityError as exc:
        log.warning("GTFS-Realtime from %s not applied, the last good data stays: %s", source, exc.message)
        return None
    except Exception:  # the database or anything unforeseen: the poller must keep running
        log.exception("GTFS-Realtime from %s not applied, the last good data stays", source)
        return None
    log.info(
        "GTFS-Realtime from %s: %s trips (%s cancelled), %s stop updates%s",
        source,
        result.trips,
        result.canceled,
        result.stop_updates,
        "" if result.changed else ", unchanged",
    )
    return result
