"""Assets for simulator tests, shaped like the twin's AssetRecord, and the Duisburg context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from stadtkern.simulator.protocol import SimulationContext

BERLIN = ZoneInfo("Europe/Berlin")
# Duisburg's centre (city.toml [city] center).
DUISBURG = SimulationContext(seed=1, timezone=BERLIN, latitude=51.4344, longitude=6.7623)


@dataclass(frozen=True)
class FakeAsset:
    code: str
    type_key: str
    name: str = ""
    district_code: str = "100"
    lon: float = 6.7623
    lat: float = 51.4344
    properties: Mapping[str, Any] = field(default_factory=dict)
    datastreams: Mapping[str, int] = field(default_factory=dict)


def context(seed: int = 1) -> SimulationContext:
    return SimulationContext(
        seed=seed, timezone=BERLIN, latitude=DUISBURG.latitude, longitude=DUISBURG.longitude
    )
