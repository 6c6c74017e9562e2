"""The fast stamp formatter of the aggregates writes exactly what format_time writes."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from stadtkern.sensorthings.values import UtcStamps, format_time

# From 0001-01-02 to 9999-12-30: the years datetime can show, including before 1970 (negative seconds).
FIRST = int(datetime(1, 1, 2, tzinfo=UTC).timestamp())
LAST = int(datetime(9999, 12, 30, tzinfo=UTC).timestamp())


@given(st.lists(st.integers(min_value=FIRST, max_value=LAST), min_size=1, max_size=50))
def test_stamps_equal_format_time(seconds: list[int]) -> None:
    stamp = UtcStamps()
    for value in seconds + seconds:  # the second pass answers from the caches
        assert stamp(value) == format_time(datetime.fromtimestamp(value, UTC))


def test_a_year_of_hours_across_new_year() -> None:
    stamp = UtcStamps()
    start = int(datetime(2025, 12, 31, 22, tzinfo=UTC).timestamp())
    assert [stamp(start + 3600 * i) for i in range(3)] == [
        "2025-12-31T22:00:00Z",
        "2025-12-31T23:00:00Z",
        "2026-01-01T00:00:00Z",
    ]
