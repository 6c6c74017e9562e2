"""The demo city lives while the app runs: the real-time simulation as a background task.

Registered through the ``stadtkern_lifespans`` hook (``plugin.py``); switched by ``STADTKERN_SIMULATOR``.
It runs only in the process that runs the embedded job worker, and uses the app's own database engine, so on SQLite its writes queue with the requests' writes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from stadtkern.simulator.city import context_for
from stadtkern.simulator.engine import Announcer
from stadtkern.simulator.realtime import RealTime
from stadtkern.simulator.settings import seed, simulator_in_app

if TYPE_CHECKING:
    from stadtkern.web.runtime import Runtime

# A batch is about 0.1 s of writing (PER_BATCH in realtime.py); a generous bound for a loaded machine.
STOP_TIMEOUT_S = 30.0


@contextlib.asynccontextmanager
async def lifespan(app: Any, runtime: Runtime) -> AsyncIterator[None]:
    # Only the process that runs the embedded job worker (the one-process default, `make run`) simulates:
    # never several HTTP workers at once, and not apps built for tests (they drive jobs by hand).
    runs_jobs = getattr(app.state, "job_runner", None) is not None
    if not runs_jobs or not simulator_in_app(runtime.settings):
        yield
        return
    simulation = RealTime(
        runtime.sessions, runtime.pm, context_for(runtime.city, seed(runtime.settings)), runtime.clock
    )
    # While the live side of SensorThings runs (MQTT, live pages), new readings are announced on its bus.
    bus = getattr(app.state, "sta_events", None)
    service = getattr(app.state, "sensorthings", None)
    if bus is not None and service is not None:
        simulation.announcer = Announcer(bus.publish, getattr(service, "event_base_url", ""))
    task = asyncio.create_task(simulation.forever(), name="stadtkern-simulator")
    try:
        yield
    finally:
        # Stop between write transactions: cancelling one midway can leave its SQLite connection holding
        # the write lock until it is garbage-collected. Cancel only if a batch hangs.
        simulation.stop()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=STOP_TIMEOUT_S)
