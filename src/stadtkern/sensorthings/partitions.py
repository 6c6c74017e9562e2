"""Monthly partitions of ``sta_observations`` on PostgreSQL.

Rows land in the partition of their phenomenonTime's month; a DEFAULT partition catches anything older
than the partitions made so far (backfills). A periodic job keeps the coming months ready, and retention
can drop whole months instead of deleting rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

TABLE = "sta_observations"


def create_statements() -> list[str]:
    return [
        f"""
        CREATE TABLE {TABLE} (
            id BIGSERIAL NOT NULL,
            datastream_id INTEGER,
            multi_datastream_id INTEGER,
            feature_of_interest_id INTEGER,
            phenomenon_time TIMESTAMP WITH TIME ZONE NOT NULL,
            phenomenon_time_end TIMESTAMP WITH TIME ZONE,
            result_time TIMESTAMP WITH TIME ZONE,
            result_type INTEGER NOT NULL,
            result_number DOUBLE PRECISION,
            result_string TEXT,
            result_json JSONB,
            result_quality JSONB,
            valid_time_start TIMESTAMP WITH TIME ZONE,
            valid_time_end TIMESTAMP WITH TIME ZONE,
            parameters JSONB,
            client_key VARCHAR(200),
            CONSTRAINT pk_sta_observations PRIMARY KEY (id, phenomenon_time)
        ) PARTITION BY RANGE (phenomenon_time)
        """,
        f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT",
        f"CREATE INDEX ix_sta_observations_datastream_time ON {TABLE} (datastream_id, phenomenon_time)",
        f"CREATE INDEX ix_sta_observations_multi_datastream_time ON {TABLE} (multi_datastream_id, phenomenon_time) "
        "WHERE multi_datastream_id IS NOT NULL",
        f"CREATE INDEX ix_sta_observations_feature ON {TABLE} (feature_of_interest_id)",
        f"CREATE INDEX ix_sta_observations_id ON {TABLE} (id)",
        f"CREATE UNIQUE INDEX uq_sta_observations_client ON {TABLE} (datastream_id, client_key, phenomenon_time) "
        "WHERE client_key IS NOT NULL",
    ]


def month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


async def ensure_months(connection: AsyncConnection, start: datetime, months: int) -> list[str]:
    """Create the monthly partitions from ``start``'s month on (those missing). Returns the names made."""
    made: list[str] = []
    month = month_start(start.astimezone(UTC).date())
    existing = set(
        (
            await connection.execute(
                text(
                    "SELECT CAST(CAST(inhrelid AS regclass) AS text) FROM pg_inherits "
                    "WHERE inhparent = CAST(:t AS regclass)"
                ),
                {"t": TABLE},
            )
        ).scalars()
    )
    for _ in range(months):
        name = partition_name(month)
        if name not in existing:
            await _create_month(connection, name, month, next_month(month))
            made.append(name)
        month = next_month(month)
    return made


async def _create_month(connection: AsyncConnection, name: str, month: date, upper: date) -> None:
    """Create one month's partition, first taking that month's rows out of the DEFAULT partition.

    Rows land in DEFAULT while their month has no partition (a backfill, or the job not running over a
    month's start); PostgreSQL then refuses the new partition ("updated partition constraint for default
    partition would be violated"), and every later run of the job would fail the same way. So the rows
    move: out of DEFAULT, the partition made, back in through the parent, in the caller's transaction.
    """
    lower_bound = f"{month.isoformat()} 00:00:00+00"
    upper_bound = f"{upper.isoformat()} 00:00:00+00"
    bounds = {
        "lower": datetime(month.year, month.month, 1, tzinfo=UTC),
        "upper": datetime(upper.year, upper.month, 1, tzinfo=UTC),
    }
    waiting = await connection.scalar(_DEFAULT_HAS_MONTH, bounds)
    if waiting:
        await connection.execute(_TAKE_MONTH_OUT_OF_DEFAULT, bounds)
    await connection.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} "
            f"FOR VALUES FROM ('{lower_bound}') TO ('{upper_bound}')"
        )
    )
    if waiting:
        await connection.execute(_PUT_MONTH_BACK)
        await connection.execute(text("DROP TABLE moving_observations"))


# The month's rows in DEFAULT are those from :lower (inclusive) to :upper (exclusive).
_DEFAULT_HAS_MONTH = text(
    "SELECT EXISTS (SELECT 1 FROM sta_observations_default "
    "WHERE phenomenon_time >= CAST(:lower AS timestamptz) AND phenomenon_time < CAST(:upper AS timestamptz))"
)
_TAKE_MONTH_OUT_OF_DEFAULT = text(
    "CREATE TEMPORARY TABLE moving_observations AS "
    "WITH moved AS (DELETE FROM sta_observations_default "
    "WHERE phenomenon_time >= CAST(:lower AS timestamptz) AND phenomenon_time < CAST(:upper AS timestamptz) "
    "RETURNING *) SELECT * FROM moved"
)
_PUT_MONTH_BACK = text("INSERT INTO sta_observations SELECT * FROM moving_observations")
