"""Personal Datastreams (a household's meter) never appear to anyone but the owner and the operating
organisation's operators, in any query, expansion, extension; staff reads are audited."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.core.audit.models import AuditEntry
from stadtkern.sensorthings.service import SensorThingsService
from tests.sensorthings.conftest import THING, create, get
from tests.support.accounts import login_as, logout, make_user


async def test_personal_streams_are_hidden_and_staff_reads_audited(
    sta: AsyncTestClient[Any], sta_app: Litestar
) -> None:
    runtime = sta_app.state.runtime
    owner = await make_user(runtime, "haushalt@example.org")
    neighbour = await make_user(runtime, "nachbar@example.org")
    operator = await make_user(runtime, "netz@example.org", roles=(("operator", "stadtwerke"),))
    other_operator = await make_user(runtime, "verkehr@example.org", roles=(("operator", "dvg"),))
    public_thing = await create(sta, "Things", THING)
    meter = {**THING, "name": "Stromzähler Musterweg 3", "properties": {"kind": "meter"}}
    meter_thing = await create(sta, "Things", meter)
    meter_ds = (await get(sta, f"Things({meter_thing})/Datastreams"))["value"][0]["@iot.id"]
    await create(
        sta,
        f"Datastreams({meter_ds})/Observations",
        {"phenomenonTime": "2026-11-17T10:00:00Z", "result": 0.42},
    )
    service = SensorThingsService(runtime.sessions, runtime.clock, runtime.engine.dialect.name)
    await service.set_stream_policy(
        meter_ds, access="personal", organisation="stadtwerke", owner_user_id=owner.id
    )

    async def visible_things() -> set[int]:
        return {t["@iot.id"] for t in (await get(sta, "Things"))["value"]}

    # Anonymous and another citizen: the meter, its Thing, Location, Observations and FoI are invisible.
    for viewer in (None, neighbour, other_operator):
        if viewer is None:
            logout(sta)
        else:
            await login_as(sta, runtime, viewer)
        assert await visible_things() == {public_thing}
        await get(sta, f"Datastreams({meter_ds})", status=404)
        await get(sta, f"Datastreams({meter_ds})/Observations", status=404)
        assert (await get(sta, "Observations?$filter=result lt 1"))["value"] == []
        expanded = await get(sta, "Things?$expand=Datastreams($expand=Observations)")
        assert "0.42" not in str(expanded)
        assert all(loc["name"] != "Musterweg" for loc in (await get(sta, "Locations"))["value"])
        latest = await get(sta, "ext/latest")
        assert meter_ds not in {v["Datastream@iot.id"] for v in latest["value"]}
        await get(sta, f"ext/Datastreams({meter_ds})/aggregate", status=404)

    # The owner sees it; reading one's own data is not audited.
    await login_as(sta, runtime, owner)
    assert (await get(sta, f"Datastreams({meter_ds})/Observations"))["value"][0]["result"] == 0.42
    # The operator of the operating organisation sees it, and the read is audited with the owner as subject.
    await login_as(sta, runtime, operator)
    assert (await get(sta, f"Datastreams({meter_ds})/Observations"))["value"][0]["result"] == 0.42
    async with runtime.sessions() as session:
        entries = (await session.scalars(select(AuditEntry).where(AuditEntry.subject_id == owner.id))).all()
    assert [(e.actor_id, e.action) for e in entries] == [(operator.id, "personal_data.read")]
    assert entries[0].target == f"Datastreams({meter_ds})"
