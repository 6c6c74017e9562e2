"""An asset's state on the operator map, derived from the latest value of each of its Datastreams.

- ``fault``: a ``fault`` Datastream whose latest (still fresh) value is 1;
- ``no_data``: a Datastream without an observation within twice its reporting period;
- ``off``: an actuator (a street light) whose first Datastream reads 0 (dimmed to 0 %);
- ``ok``: everything else.

A fresh fault wins over a stale sibling stream: a broken lamp stays "gestört" even when its dimming
value is late. Instantaneous streams (no ``interval``) are expected at least hourly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from stadtkern.contracts import AssetType, DatastreamType

OK = "ok"
FAULT = "fault"
NO_DATA = "no_data"
OFF = "off"
STATES = (OK, FAULT, NO_DATA, OFF)
FAULT_KEY = "fault"
# Instantaneous values (dim level, pressure, fill level) carry no interval; the simulator and real field
# devices report them every 15 to 60 minutes.
DEFAULT_PERIOD = timedelta(hours=1)

# Datastream key -> (phenomenon time, numeric result or None).
Latest = Mapping[str, tuple[datetime, float | None]]


def expected_period(stream: DatastreamType) -> timedelta:
    return stream.interval or DEFAULT_PERIOD


def fresh(stream: DatastreamType, seen: tuple[datetime, float | None] | None, now: datetime) -> bool:
    return seen is not None and now - seen[0] <= 2 * expected_period(stream)


def derive_state(asset_type: AssetType, latest: Latest, now: datetime) -> str:
    """From each stream's latest (time, value)."""
    return state_of(
        asset_type,
        {
            stream.key: (fresh(stream, latest.get(stream.key), now), latest[stream.key][1])
            for stream in asset_type.datastreams
            if stream.key in latest
        },
    )


def state_of(asset_type: AssetType, readings: Mapping[str, tuple[bool, float | None]]) -> str:
    """From each stream's (fresh?, latest value); a stream never seen is missing from ``readings``."""
    streams = asset_type.datastreams
    fault = readings.get(FAULT_KEY)
    if fault is not None and fault[0] and fault[1] == 1 and any(s.key == FAULT_KEY for s in streams):
        return FAULT
    # A stream only some assets have (``only_with``, a meter's feed-in) counts where it has readings.
    expected = [s for s in streams if not s.only_with or s.key in readings]
    if any(not readings.get(stream.key, (False, None))[0] for stream in expected):
        return NO_DATA
    if asset_type.kind == "actuator":
        primary = next((s for s in streams if s.key != FAULT_KEY), None)
        if primary is not None and readings[primary.key][1] == 0:
            return OFF
    return OK
