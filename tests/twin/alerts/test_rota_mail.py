"""The on-call rota decides who is mailed about a new alert; the mail arrives at a real SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from stadtkern.contracts import AssetType
from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.twin import services as twin
from stadtkern.twin.alerts import rota
from stadtkern.twin.alerts.errors import InvalidInput
from stadtkern.twin.alerts.jobs import EVALUATE
from stadtkern.web.runtime import Runtime
from tests.conftest import make_settings
from tests.support.database import loop_safe_app
from tests.support.smtp import SMTPServer, smtp_server, wait_for_mail
from tests.twin.alerts.conftest import SCALE, City, operator

ORGS = {"stadtwerke": "Stadtwerke Duisburg", "stadt": "Stadt Duisburg"}


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def mail_city(
    db_url: str, data_dir: Path, clock: FrozenClock, smtp: SMTPServer, types: dict[str, AssetType]
) -> AsyncIterator[City]:
    app = loop_safe_app(make_settings(db_url, data_dir, smtp_url=smtp.url), clock)
    runtime: Runtime = app.state.runtime
    async with runtime.sessions() as session, session.begin():
        await twin.provision_city(session, runtime.city, types, now=clock.now(), scale=SCALE)
    async with runtime.sessions() as session:
        assets = await twin.list_assets(session)
    yield City(runtime, types, assets)
    await runtime.engine.dispose()


def jobs(city: City) -> JobRunner:
    """A job runner whose only periodic job is the alerts' evaluation (mail delivery runs as queued)."""
    runner = JobRunner(city.rt)
    runner.periodic = [p for p in runner.periodic if p.kind == EVALUATE]
    assert runner.periodic
    return runner


async def _reading(city: City, value: float) -> None:
    """A pressure reading a quarter hour later, then the periodic jobs (evaluation, mail delivery)."""
    sensor = city.of("water_pressure_sensor")[0]
    city.rt.clock.advance(timedelta(minutes=15))
    await city.write(sensor, "pressure", [(city.rt.clock.now(), value)])
    await jobs(city).run_until_idle()


async def test_the_person_on_call_gets_the_mail_else_all_operators(mail_city: City, smtp: SMTPServer) -> None:
    city = mail_city
    nora = await operator(city, "nora@example.org", "stadtwerke", name="Nora Netz")
    await operator(city, "paul@example.org", "stadtwerke", name="Paul Pumpe")
    await operator(city, "stadt@example.org", "stadt")  # another organisation: never mailed here
    sensor = city.of("water_pressure_sensor")[0]
    await city.rule(title="Überdruck", asset_code=sensor.code, organisation="stadtwerke", threshold=5.0)
    now = city.rt.clock.now()
    async with city.rt.sessions() as session, session.begin():
        await rota.add_entry(
            session,
            nora,
            person_id=nora.id,
            organisation="stadtwerke",
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(hours=2),
            organisations=ORGS,
            now=now,
        )
    async with city.rt.sessions() as session:
        assert [u.email for u in await rota.recipients(session, "stadtwerke", now)] == ["nora@example.org"]

    await _reading(city, 6.0)
    [mail] = await wait_for_mail(smtp, 1)
    assert mail.rcpt_tos == ["nora@example.org"]
    message = mail.message
    assert "Neuer Alarm: Überdruck" in str(message["Subject"])
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "Guten Tag Nora Netz" in text
    assert sensor.code in text
    assert "/leitstelle/alarme/" in text

    # After Nora's shift no one is on call: every operator of the Stadtwerke is told.
    city.rt.clock.advance(timedelta(hours=3))
    await _reading(city, 4.0)  # clears
    await _reading(city, 6.5)  # raised again
    received = await wait_for_mail(smtp, 3)
    assert sorted(r.rcpt_tos[0] for r in received[1:]) == ["nora@example.org", "paul@example.org"]


async def test_rota_entries_are_checked(mail_city: City) -> None:
    city = mail_city
    nora = await operator(city, "nora@example.org", "stadtwerke")
    town = await operator(city, "stadt@example.org", "stadt")
    now = city.rt.clock.now()
    async with city.rt.sessions() as session:
        with pytest.raises(InvalidInput) as bad:
            await rota.add_entry(
                session,
                nora,
                person_id=town.id,
                organisation="stadtwerke",
                starts_at=now,
                ends_at=now - timedelta(hours=1),
                organisations=ORGS,
                now=now,
            )
        assert set(bad.value.errors) == {"person", "ends_at"}
        with pytest.raises(InvalidInput) as bad:
            await rota.add_entry(
                session,
                nora,
                person_id=nora.id,
                organisation="stadt",
                starts_at=None,
                ends_at=None,
                organisations=ORGS,
                now=now,
            )
        assert set(bad.value.errors) == {"organisation", "starts_at", "ends_at"}
