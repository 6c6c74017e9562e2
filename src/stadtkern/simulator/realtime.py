"""The living city in real time: every quarter hour of city time, write what has become due.

Each tick writes the readings stamped up to the current quarter hour that are not stored yet. The first
tick looks back :data:`CATCH_UP` (so a restarted demo has no hole of the last day; longer pauses are filled
with a backfill, ``stadtkern simulate --from ...``) and gives assets marked ``full_year_history`` (the demo
households) their past year; later ticks look back an hour, enough to cover a late tick. Time comes from the clock, so tests drive it with a frozen clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pluggy
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from stadtkern.core.clock import Clock
from stadtkern.simulator.city import load_targets
from stadtkern.simulator.engine import Announcer, Result, Target, run
from stadtkern.simulator.protocol import SimulationContext
from stadtkern.simulator.timegrid import STEP, floor_step

log = logging.getLogger("stadtkern.simulator")

CATCH_UP = timedelta(days=1)
OVERLAP = timedelta(hours=1)
HISTORY = timedelta(days=365)
HISTORY_PROPERTY = "full_year_history"
# Assets per write transaction in the app: a day's catch-up of 50 assets is about 7,000 readings, under
# 0.1 s of holding SQLite's one write lock, so requests and other processes (the CLI) get their turn.
PER_BATCH = 50


@dataclass
class RealTime:
    """Ticks of the real-time simulation for one installation."""

    sessions: async_sessionmaker[AsyncSession]
    pm: pluggy.PluginManager
    context: SimulationContext
    clock: Clock
    type_keys: Collection[str] | None = None
    catch_up: timedelta = CATCH_UP
    # Publishes new observations on the app's event bus (not the first tick's catch-up of a whole day).
    announcer: Announcer | None = None
    last: datetime | None = None
    # Set by :meth:`stop`: the running tick ends after the write transaction in progress.
    stopped: asyncio.Event = field(default_factory=asyncio.Event)

    def stop(self) -> None:
        """Ask :meth:`forever` to end; it returns once the current write transaction has committed."""
        self.stopped.set()

    async def tick(self) -> Result:
        """Write every reading due now that is not stored yet."""
        now = self.clock.now()
        due = floor_step(now)
        start = due - (self.catch_up if self.last is None else OVERLAP)
        # Readings stamped exactly at the quarter hour are due: the range is [start, due].
        end = due + timedelta(microseconds=1)
        chosen = await load_targets(self.sessions, self.pm, self.type_keys)
        if self.last is None:
            await self._history(chosen, due - HISTORY, end)
        result = await run(
            self.sessions,
            chosen,
            start,
            end,
            self.context,
            now=self.clock.now,
            window=end - start,
            per_batch=PER_BATCH,
            announcer=None if self.last is None else self.announcer,
            stopping=self.stopped.is_set,
        )
        self.last = due
        return result

    async def _history(self, chosen: list[Target], start: datetime, end: datetime) -> None:
        """Assets marked ``full_year_history`` (the demo households whose owners check their tariff) get
        the past year, once per start; what is stored already is skipped."""
        wanted = [t for t in chosen if t.asset.properties.get(HISTORY_PROPERTY)]
        if wanted:
            result = await run(
                self.sessions,
                wanted,
                start,
                end,
                self.context,
                now=self.clock.now,
                stopping=self.stopped.is_set,
            )
            if result.observations:
                log.info(
                    "simulator: a year of history for %s assets (%s observations)",
                    len(wanted),
                    result.observations,
                )

    async def forever(self) -> None:
        """Tick now and then at every quarter hour of the clock, until :meth:`stop` (or cancelled)."""
        while not self.stopped.is_set():
            try:
                result = await self.tick()
                if result.observations:
                    log.info(
                        "simulator: %s observations written (%.1f s)", result.observations, result.seconds
                    )
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away for a moment: try again at the next tick
                log.exception("simulator tick failed; trying again at the next quarter hour")
            now = self.clock.now()
            wait = (floor_step(now) + STEP - now).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopped.wait(), timeout=max(wait, 1.0))
