"""Alert fixtures: a small provisioned city, its asset types, the default rules, and a writer of readings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from litestar import Litestar

from stadtkern.contracts import AssetType
from stadtkern.core.accounts.models import User
from stadtkern.sensorthings import models as sta
from stadtkern.sensorthings.ingest import insert_columns
from stadtkern.twin import services as twin
from stadtkern.twin.alerts import models as m
from stadtkern.twin.alerts.evaluation import EvaluationReport
from stadtkern.twin.alerts.jobs import run_evaluation
from stadtkern.twin.alerts.rules import RuleInput, create_rule, seed_default_rules
from stadtkern.twin.services import AssetRecord
from stadtkern.web.runtime import Runtime
from tests.support.accounts import make_user

SCALE = 0.05


@dataclass
class City:
    """The provisioned test city: its runtime and assets by type."""

    rt: Runtime
    types: dict[str, AssetType]
    assets: list[AssetRecord]

    def of(self, type_key: str) -> list[AssetRecord]:
        found = [a for a in self.assets if a.type_key == type_key]
        assert found, f"no {type_key} at scale {SCALE}"
        return found

    async def write(self, asset: AssetRecord, key: str, readings: list[tuple[datetime, float]]) -> None:
        """Store readings of one of the asset's Datastreams through the SensorThings ingest."""
        async with self.rt.sessions() as session, session.begin():
            await insert_columns(
                session,
                {
                    "phenomenon_time": [t for t, _v in readings],
                    "result_number": [float(v) for _t, v in readings],
                    "result_type": [sta.RESULT_FLOAT] * len(readings),
                },
                datastream_id=asset.datastreams[key],
                now=self.rt.clock.now(),
            )

    async def evaluate(self) -> EvaluationReport:
        return await run_evaluation(self.rt)

    async def rule(self, **fields: Any) -> m.AlertRule:
        values: dict[str, Any] = {
            "title": "Testregel",
            "kind": m.THRESHOLD,
            "type_key": "water_pressure_sensor",
            "stream_key": "pressure",
            "asset_code": None,
            "organisation": None,
            "comparison": m.ABOVE,
            "threshold": None,
            "hysteresis": 0.0,
            "minutes": None,
            "severity": "warning",
            **fields,
        }
        async with self.rt.sessions() as session, session.begin():
            rule = await create_rule(session, RuleInput(**values), now=self.rt.clock.now())
        return rule

    async def alerts(self) -> list[m.Alert]:
        from sqlalchemy import select

        async with self.rt.sessions() as session:
            return list((await session.scalars(select(m.Alert).order_by(m.Alert.id))).all())

    async def seed_defaults(self) -> int:
        async with self.rt.sessions() as session, session.begin():
            return await seed_default_rules(session, self.types, now=self.rt.clock.now())


@pytest.fixture
async def city(app: Litestar, types: dict[str, AssetType]) -> AsyncIterator[City]:
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session, session.begin():
        await twin.provision_city(session, runtime.city, types, now=runtime.clock.now(), scale=SCALE)
    async with runtime.sessions() as session:
        assets = await twin.list_assets(session)
    yield City(runtime, types, assets)
    await runtime.engine.dispose()


async def operator(city: City, email: str, organisation: str | None, name: str = "") -> User:
    return await make_user(city.rt, email, roles=(("operator", organisation),), display_name=name)
