"""The fast time formatters write exactly what the slower, obvious ways write.

- UtcStamps (aggregates) writes what format_time writes;
- format_time writes isoformat() in UTC with a Z;
- sqlite_time (bulk inserts on SQLite) writes what SQLAlchemy's SQLite DATETIME binds, and
  sqlite_times what sqlite_time writes, value by value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import DateTime
from sqlalchemy.dialects import sqlite

from stadtkern.sensorthings.fastpath import sqlite_time, sqlite_times
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


AWARE = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
) | st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]),
)


@given(AWARE)
def test_format_time_is_isoformat_in_utc_with_z(value: datetime) -> None:
    assert format_time(value) == value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"


@given(AWARE)
def test_sqlite_time_is_sqlalchemys_sqlite_datetime_text(value: datetime) -> None:
    dialect = sqlite.dialect()
    bind = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert bind is not None
    assert sqlite_time(value) == bind(value.astimezone(UTC).replace(tzinfo=None))


@given(st.lists(AWARE, max_size=30))
def test_sqlite_times_is_sqlite_time_for_each(values: list[datetime]) -> None:
    in_utc = [value.astimezone(UTC) for value in values]  # the block path's times, all in UTC
    assert sqlite_times(in_utc) == [sqlite_time(value) for value in in_utc]
    assert sqlite_times(values) == [sqlite_time(value) for value in values]  # mixed zones: value by value
