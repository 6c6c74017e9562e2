"""Every generator is a pure function of (seed, asset code, time): same seed, same readings, any chunking."""

from __future__ import annotations

import importlib
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from stadtkern.simulator.engine import generators_by_type
from stadtkern.simulator.protocol import Generator, Reading
from tests.simulator.support import FakeAsset, context

DOMAINS = ("lighting", "wifi", "energy", "water", "heat", "waste", "traffic")
GENERATORS = [g for d in DOMAINS for g in importlib.import_module(f"stadtkern.{d}.simulation").GENERATORS]
START = datetime(2026, 10, 24, 21, 0, tzinfo=UTC)  # across the end of summer time (25 October 2026)
END = START + timedelta(days=3)


def readings(
    generator: Generator, seed: int, start: datetime, end: datetime, code: str = "a-1"
) -> list[Reading]:
    asset = FakeAsset(code, generator.asset_type, name="Bahnhofsvorplatte")
    return list(generator.readings(asset, start, end, context(seed)))


def test_one_generator_per_asset_type() -> None:
    served = generators_by_type(GENERATORS)
    assert set(served) == {
        "street_light",
        "wifi_hotspot",
        "household_meter",
        "substation",
        "water_pressure_sensor",
        "water_flow_sensor",
        "heating_point",
        "waste_container",
        "traffic_counter",
    }


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda g: g.asset_type)
def test_same_seed_same_readings(generator: Generator) -> None:
    first = readings(generator, 7, START, END)
    assert first, "a generator yields readings"
    assert readings(generator, 7, START, END) == first
    if generator.asset_type != "street_light":  # lights differ only in rare faults (tests/lighting)
        assert readings(generator, 8, START, END) != first
        assert readings(generator, 7, START, END, code="a-2") != first


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda g: g.asset_type)
def test_chunked_equals_whole(generator: Generator) -> None:
    whole = readings(generator, 3, START, END)
    cuts = [
        START,
        START + timedelta(hours=5, minutes=7),
        START + timedelta(days=1),
        END - timedelta(minutes=15),
        END,
    ]
    chunked = [r for a, b in itertools.pairwise(cuts) for r in readings(generator, 3, a, b)]
    assert sorted(chunked, key=lambda r: (r[0], r[1])) == sorted(whole, key=lambda r: (r[0], r[1]))


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda g: g.asset_type)
def test_readings_lie_in_the_range_on_the_quarter_hour(generator: Generator) -> None:
    for _key, moment, value in readings(generator, 1, START, END):
        assert START <= moment < END
        assert moment.minute % 15 == 0
        assert moment.second == 0
        assert moment.tzinfo is not None
        assert value == value  # never NaN


def test_an_empty_range_has_no_readings() -> None:
    for generator in GENERATORS:
        assert readings(generator, 1, START, START) == []
