"""Waste containers fill up until the collection empties them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from stadtkern.waste.simulation import WasteContainers
from tests.simulator.support import FakeAsset, context


def test_fill_rises_and_drops_at_collection() -> None:
    container = FakeAsset("waste_container-100-0001", "waste_container", properties={"fill_days": 10.0})
    times, values = WasteContainers().series(
        container, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC), context()
    )["fill_level"]
    assert all(t.minute == 0 for t in times)  # hourly readings
    drops = [b - a for a, b in itertools.pairwise(values) if b - a < -30]
    assert 3 <= len(drops) <= 5  # weekly collections in a month (one may be missed)
    assert max(values) > 50
    assert min(values) < 10


def test_a_fast_container_overflows_before_collection() -> None:
    container = FakeAsset("waste_container-100-0002", "waste_container", properties={"fill_days": 3.0})
    _times, values = WasteContainers().series(
        container, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 15, tzinfo=UTC), context()
    )["fill_level"]
    assert max(values) == 100.0
