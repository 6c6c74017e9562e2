"""The generator protocol: what a domain module hands to the simulator (hook ``stadtkern_simulators``).

A generator serves one asset type (``asset_type``, the key of an ``AssetType``) and produces the readings
of one asset over a half-open time range ``[start, end)`` as ``(datastream key, phenomenon time, value)``.
Readings are a pure function of ``(seed, asset code, time)``: whatever chunks a range is cut into, the
readings are the same, so a backfill split in chunks equals one run and real time continues exactly where
a backfill stopped. Generators therefore never keep state between calls and draw their randomness from
:mod:`stadtkern.simulator.randomness`, never from a global random state.

Time stamps: states (a light's dim level, a pressure, a fill level) are instants; counts and energies
(logins, vehicles, Wh) are stamped with the end of the interval they count, so a value is due as soon as
its time stamp has passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

# One reading: the Datastream key of the asset type, the phenomenon time (UTC) and the value.
Reading = tuple[str, datetime, float | int]
# Per Datastream key: the phenomenon times (ascending) and the values.
Series = Mapping[str, tuple[list[datetime], list[float | int]]]


class Asset(Protocol):
    """What the simulator needs of an asset (``stadtkern.twin.services.AssetRecord`` has this shape)."""

    @property
    def code(self) -> str: ...

    @property
    def type_key(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def lon(self) -> float: ...

    @property
    def lat(self) -> float: ...

    @property
    def properties(self) -> Mapping[str, Any]: ...

    @property
    def datastreams(self) -> Mapping[str, int]: ...


@dataclass(frozen=True)
class SimulationContext:
    """The seed and the city's place and time zone (from the city profile)."""

    seed: int
    timezone: ZoneInfo
    latitude: float
    longitude: float


@runtime_checkable
class Generator(Protocol):
    """A generator of simulated readings for the assets of one type."""

    @property
    def asset_type(self) -> str: ...

    def readings(
        self, asset: Asset, start: datetime, end: datetime, context: SimulationContext
    ) -> Iterable[Reading]:
        """The asset's readings with ``start <= time < end``, deterministic for (seed, asset code, time)."""
        ...


class SeriesGenerator(Generator, Protocol):
    """Optional fast path: the same readings as column lists per Datastream key (used when present)."""

    def series(self, asset: Asset, start: datetime, end: datetime, context: SimulationContext) -> Series: ...
