"""GTFS-Realtime TripUpdates (delays, cancellations, skipped stops) from a file or a URL.

A ``FeedMessage`` is parsed with the official bindings (``gtfs-realtime-bindings``) into rows of
``mob_realtime_trip_updates``: one trip-level row per TripUpdate (its relationship, e.g. CANCELED) and
one row per StopTimeUpdate (delay or absolute time, SCHEDULED/SKIPPED/NO_DATA). A FULL_DATASET message
replaces every stored update; a DIFFERENTIAL one replaces the updates of the trips it names. The planner
reads the table (see ``models.RealtimeTripUpdate``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
from google.protobuf.message import DecodeError
from google.transit import gtfs_realtime_pb2
from sqlalchemy import delete, insert, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.core.clock import Clock
from stadtkern.core.i18n import gettext as _
from stadtkern.mobility import models as m
from stadtkern.mobility.errors import MobilityError

MAX_BYTES = 50 * 1024 * 1024
TIMEOUT_SECONDS = 20.0


@dataclass
class RealtimeResult:
    trips: int
    stop_updates: int
    canceled: int
    feed_timestamp: datetime | None
    full_dataset: bool


async def read_source(source: str) -> bytes:
    """The bytes of a FeedMessage from an http(s) URL or a file path."""
    if source.lower().startswith(("http://", "https://")):
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=True) as client:
                response = await client.get(source)
        except httpx.HTTPError as exc:
            raise MobilityError(
                _("Echtzeitdaten nicht abrufbar: %(reason)s", reason=str(exc) or type(exc).__name__),
                field="source",
            ) from exc
        if response.status_code != 200:
            raise MobilityError(
                _("Echtzeitdaten nicht abrufbar: HTTP %(status)s", status=response.status_code),
                field="source",
            )
        if len(response.content) > MAX_BYTES:
            raise MobilityError(_("Die Echtzeitdaten sind zu groß."), field="source")
        return response.content
    return await asyncio.to_thread(_read_file, source)


def _read_file(source: str) -> bytes:
    path = Path(source)
    if not path.is_file():
        raise MobilityError(_("Datei %(path)s nicht gefunden.", path=source), field="source")
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
    if not message.HasField("header"):
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


async def apply(session: AsyncSession, data: bytes, clock: Clock) -> RealtimeResult:
    """Store the TripUpdates of a FeedMessage (the caller commits)."""
    rows, full, stamp = parse(data, clock.now())
    table = m.RealtimeTripUpdate
    if full:
        await session.execute(delete(table))
    else:
        keys = {(r["trip_id"], r["start_date"]) for r in rows if r["stop_sequence"] is None}
        dated = [k for k in keys if k[1] is not None]
        undated = [k[0] for k in keys if k[1] is None]
        if dated:
            await session.execute(delete(table).where(tuple_(table.trip_id, table.start_date).in_(dated)))
        if undated:
            await session.execute(delete(table).where(table.trip_id.in_(undated), table.start_date.is_(None)))
    if rows:
        await session.execute(insert(table), rows)
    trip_rows = [r for r in rows if r["stop_sequence"] is None and r["stop_id"] is None]
    return RealtimeResult(
        trips=len(trip_rows),
        stop_updates=len(rows) - len(trip_rows),
        canceled=sum(1 for r in trip_rows if r["trip_relationship"] == m.CANCELED),
        feed_timestamp=stamp,
        full_dataset=full,
    )
