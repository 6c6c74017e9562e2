"""Live map: state changes of assets as server-sent events, batched, never one message per observation.

The SensorThings event bus (``app.state.sta_events``, running with ``stadtkern run``) announces every new
Observation. The stream collects them for ``BATCH_SECONDS``, recomputes the state of the assets they
belong to and sends only the assets whose state changed. A sweep every ``SWEEP_SECONDS`` catches what no
observation announces: an asset falling silent ("keine Daten"). Without a bus the stream only says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.contracts import AssetType
from stadtkern.core.clock import Clock
from stadtkern.sensorthings.events import EntityEvent, EventBus
from stadtkern.twin.console.services import ConsoleViewer, MapAsset, MapFilter, map_assets, map_types
from stadtkern.twin.models import ASSET_DATASTREAMS, ASSETS

BATCH_SECONDS = 2.0
SWEEP_SECONDS = 60.0
KEEPALIVE_SECONDS = 15.0


class StateTracker:
    """The states a client was last told, and which Datastream belongs to which asset."""

    def __init__(self, assets: Iterable[MapAsset], stream_codes: Mapping[int, str]) -> None:
        self.states = {asset.code: asset.state for asset in assets}
        self.stream_codes = dict(stream_codes)

    def affected(self, events: Iterable[EntityEvent]) -> set[str]:
        codes = set()
        for event in events:
            if event.set_name != "Observations" or event.stream is None or event.stream.multi:
                continue
            code = self.stream_codes.get(event.stream.id)
            if code is not None:
                codes.add(code)
        return codes

    def changes(self, assets: Iterable[MapAsset]) -> list[dict[str, str]]:
        changed = []
        for asset in assets:
            if self.states.get(asset.code) != asset.state:
                self.states[asset.code] = asset.state
                changed.append({"code": asset.code, "state": asset.state})
        return changed


async def stream_codes(
    session: AsyncSession, types: Mapping[str, AssetType], viewer: ConsoleViewer, filters: MapFilter
) -> dict[int, str]:
    """Datastream id -> asset code for the assets the viewer sees on the map."""
    keys = set(map_types(types)) if filters.type_keys is None else set(filters.type_keys)
    query = (
        select(ASSET_DATASTREAMS.c.datastream_id, ASSETS.c.code)
        .select_from(ASSET_DATASTREAMS.join(ASSETS, ASSETS.c.id == ASSET_DATASTREAMS.c.asset_id))
        .where(ASSETS.c.type_key.in_(sorted(keys & set(map_types(types)))))
    )
    if viewer.organisations is not None:
        query = query.where(ASSETS.c.organisation.in_(sorted(viewer.organisations)))
    if filters.district is not None:
        query = query.where(ASSETS.c.district_code == filters.district)
    return {int(ds): code for ds, code in (await session.execute(query)).all()}


async def state_changes(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    bus: EventBus | None,
    types: Mapping[str, AssetType],
    viewer: ConsoleViewer,
    filters: MapFilter,
) -> AsyncIterator[dict[str, Any]]:
    """Yields ``{"event": "states", "data": ...}`` messages with changes, and keep-alive comments."""
    async with sessions() as session:
        assets = await map_assets(session, types, viewer, filters, now=clock.now())
        tracker = StateTracker(assets, await stream_codes(session, types, viewer, filters))
    if bus is None:
        # An app built without the live side (``create_app(mqtt=False)``: tests, scripts) has no events
        # to wait for: say so and close; the browser asks again after a minute. `stadtkern run` and
        # `serve` always run the bus.
        yield {
            "event": "ready",
            "data": json.dumps({"assets": len(tracker.states), "live": False}),
            "retry": 60_000,
        }
        return
    yield {"event": "ready", "data": json.dumps({"assets": len(tracker.states), "live": True})}
    with bus.subscribe(queue_size=50_000) as sub:
        last_sweep = last_sent = time.monotonic()
        while True:
            events: list[EntityEvent] = []
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(KEEPALIVE_SECONDS):
                    events.append(await sub.queue.get())
            if events:
                await asyncio.sleep(BATCH_SECONDS)  # let the rest of the batch arrive
                while not sub.queue.empty():
                    events.append(sub.queue.get_nowait())
            codes = tracker.affected(events)
            sweep = time.monotonic() - last_sweep >= SWEEP_SECONDS
            changes: list[dict[str, str]] = []
            if codes or sweep:
                async with sessions() as session:
                    fresh = await map_assets(
                        session, types, viewer, filters, now=clock.now(), codes=None if sweep else codes
                    )
                changes = tracker.changes(fresh)
                if sweep:
                    last_sweep = time.monotonic()
            if changes:
                last_sent = time.monotonic()
                yield {"event": "states", "data": json.dumps({"changes": changes})}
            elif time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                last_sent = time.monotonic()
                yield {"comment": "keep-alive"}
