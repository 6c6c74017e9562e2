"""Starting and stopping the live side of SensorThings with the app: event bus, bus bridge, MQTT endpoint."""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass
from typing import Any

from stadtkern.sensorthings.events import BusBridge, EventBus
from stadtkern.sensorthings.mqtt.live import PublishingService
from stadtkern.sensorthings.mqtt.server import MqttEndpoint
from stadtkern.web.runtime import Runtime

log = logging.getLogger("stadtkern.sensorthings.mqtt")
VERSION_PATH = "/sta/v1.1"


def event_base_url(runtime: Runtime) -> str:
    """The service root written into MQTT payloads (there is no request to take it from)."""
    settings = runtime.settings
    root = settings.public_url or f"http://{settings.host}:{settings.port}"
    return root.rstrip("/") + VERSION_PATH


@dataclass
class Live:
    bus: EventBus
    service: PublishingService
    endpoint: MqttEndpoint | None
    bridge: BusBridge | None

    async def stop(self) -> None:
        if self.endpoint is not None:
            await self.endpoint.stop()
        if self.bridge is not None:
            await self.bridge.stop()


async def start_live(
    app_state: Any,
    runtime: Runtime,
    *,
    port: int | None = None,
    host: str | None = None,
    required: bool = False,
    endpoint: bool = True,
) -> Live:
    """Set up events for the app; serve MQTT on ``port`` (default STADTKERN_MQTT_PORT; 0: any free port).

    When the port is taken the endpoint is skipped with a log line (another worker of this installation
    holds it), unless ``required``.
    """
    settings = runtime.settings
    bus = EventBus()
    base_url = event_base_url(runtime)
    service = PublishingService(
        runtime.sessions, runtime.clock, runtime.engine.dialect.name, bus=bus, base_url=base_url
    )
    app_state.sensorthings = service
    app_state.sta_events = bus
    bridge: BusBridge | None = None
    if settings.mqtt_bus_url:
        bridge = BusBridge(bus, settings.mqtt_bus_url)
        await bridge.start()
    if not endpoint:
        return Live(bus, service, None, bridge)
    server = MqttEndpoint(
        sessions=runtime.sessions,
        clock=runtime.clock,
        service=service,
        bus=bus,
        base_url=base_url,
        secret_key=settings.secret_key,
        anonymous_write=settings.sta_anonymous_write,
        host=settings.host if host is None else host,
        port=settings.mqtt_port if port is None else port,
    )
    try:
        await server.start()
    except OSError as exc:
        await server.stop()
        if required or exc.errno not in (errno.EADDRINUSE, errno.EACCES):
            if bridge is not None:
                await bridge.stop()
            raise
        log.warning("MQTT endpoint not started: port %s is taken (%s)", server.port, exc.strerror)
        return Live(bus, service, None, bridge)
    app_state.mqtt_endpoint = server
    return Live(bus, service, server, bridge)
