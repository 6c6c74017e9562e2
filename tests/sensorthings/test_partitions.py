"""PostgreSQL keeps observations in monthly partitions; the periodic job prepares the coming months."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from stadtkern.core.jobs.runner import JobRunner
from stadtkern.sensorthings import partitions
from tests.sensorthings.conftest import THING, create, get


async def test_partition_job_prepares_months_and_rows_land_there(
    sta: AsyncTestClient[Any], sta_app: Litestar, db_kind: str
) -> None:
    if db_kind != "postgresql":
        pytest.skip("partitions exist only on PostgreSQL; SQLite stores observations in one table")
    runtime = sta_app.state.runtime
    await JobRunner(runtime).run_until_idle()
    async with runtime.engine.connect() as conn:
        names = set(
            (
                await conn.execute(
                    text(
                        "SELECT CAST(CAST(inhrelid AS regclass) AS text) FROM pg_inherits "
                        "WHERE inhparent = CAST('sta_observations' AS regclass)"
                    )
                )
            ).scalars()
        )
    # The clock stands at 2026-11-17: November 2026 to February 2027, plus the default partition.
    assert {"sta_observations_y2026m11", "sta_observations_y2027m02", "sta_observations_default"} <= names
    thing = await create(sta, "Things", THING)
    ds = (await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
    await create(
        sta, f"Datastreams({ds})/Observations", {"phenomenonTime": "2026-11-17T10:00:00Z", "result": 1}
    )
    await create(
        sta, f"Datastreams({ds})/Observations", {"phenomenonTime": "2020-01-01T00:00:00Z", "result": 2}
    )
    async with runtime.engine.connect() as conn:
        november = (await conn.execute(text("SELECT count(*) FROM sta_observations_y2026m11"))).scalar()
        default = (await conn.execute(text("SELECT count(*) FROM sta_observations_default"))).scalar()
    assert (november, default) == (1, 1)
    both = await get(sta, f"Datastreams({ds})/Observations?$orderby=phenomenonTime")
    assert [o["result"] for o in both["value"]] == [2, 1]


async def test_the_observation_id_sequence_has_the_name_the_ingest_uses(
    sta_app: Litestar, db_kind: str
) -> None:
    if db_kind != "postgresql":
        pytest.skip("sequences exist only on PostgreSQL; SQLite hands out rowids")
    from stadtkern.sensorthings.ingest import OBSERVATION_ID_SEQUENCE

    async with sta_app.state.runtime.engine.connect() as conn:
        name = await conn.scalar(text("SELECT pg_get_serial_sequence('sta_observations', 'id')"))
    assert name == f"public.{OBSERVATION_ID_SEQUENCE}"


async def test_a_month_waiting_in_the_default_partition_moves_into_its_new_partition(
    sta: AsyncTestClient[Any], sta_app: Litestar, db_kind: str
) -> None:
    """Rows of a month without a partition land in DEFAULT (a backfill, or the job not running over a
    month's start); making that month's partition later must move them, not fail forever."""
    if db_kind != "postgresql":
        pytest.skip("partitions exist only on PostgreSQL; SQLite stores observations in one table")
    runtime = sta_app.state.runtime
    thing = await create(sta, "Things", THING)
    ds = (await get(sta, f"Things({thing})/Datastreams"))["value"][0]["@iot.id"]
    # June 2027 is beyond the months the job keeps ready (the clock stands at 2026-11-17).
    created = await create(
        sta, f"Datastreams({ds})/Observations", {"phenomenonTime": "2027-06-03T08:00:00Z", "result": 7}
    )
    june = datetime(2027, 6, 1, tzinfo=UTC)
    async with runtime.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM sta_observations_default")) == 1
        # The control: PostgreSQL refuses the partition while DEFAULT holds one of its rows.
        with pytest.raises(DBAPIError, match="default partition"):
            await conn.execute(
                text(
                    "CREATE TABLE sta_observations_y2027m06 PARTITION OF sta_observations "
                    "FOR VALUES FROM ('2027-06-01 00:00:00+00') TO ('2027-07-01 00:00:00+00')"
                )
            )
        await conn.rollback()
    async with runtime.engine.begin() as conn:
        assert await partitions.ensure_months(conn, june, months=1) == ["sta_observations_y2027m06"]
    async with runtime.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM sta_observations_default")) == 0
        assert await conn.scalar(text("SELECT count(*) FROM sta_observations_y2027m06")) == 1
    again = await get(sta, f"Observations({created})")
    assert (again["@iot.id"], again["result"]) == (created, 7)
