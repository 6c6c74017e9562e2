"""The audit log browser and the audit service."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient

from stadtkern.core.audit import services as audit
from stadtkern.core.clock import FrozenClock
from stadtkern.web.runtime import Runtime
from tests.support.accounts import login_as, make_user


async def test_filters_and_pagination(
    client: AsyncTestClient[Any], runtime: Runtime, clock: FrozenClock
) -> None:
    admin = await make_user(runtime, "admin@example.org", roles=(("admin", None),))
    clerk = await make_user(runtime, "clerk@example.org", roles=(("clerk", None),))
    anna = await make_user(runtime, "anna@example.org")
    bert = await make_user(runtime, "bert@example.org")
    start = clock.now()
    async with runtime.sessions() as session:
        for day in range(3):  # 17., 18., 19. November
            now = start + timedelta(days=day)
            await audit.record_personal_read(session, actor=clerk, subject=anna, now=now, target="akte")
            await audit.record_personal_read(session, actor=admin, subject=bert, now=now, target="akte")
            await audit.record(
                session, actor=admin, subject=anna, action="role.assigned", now=now, target="clerk"
            )
        for minute in range(60):
            await audit.record(
                session, actor=admin, action="job.retried", now=start - timedelta(days=5, minutes=minute)
            )
        await session.commit()
    await login_as(client, runtime, admin)

    page = await client.get("/verwaltung/protokoll")
    assert page.status_code == 200
    assert "69 Einträge" in page.text
    assert "Seite 1 von 2" in page.text
    # Newest first: the 19th comes before the 17th; the old entries are on page 2.
    assert page.text.index("19.11.2026") < page.text.index("17.11.2026")
    assert "job.retried" in (await client.get("/verwaltung/protokoll", params={"seite": 2})).text

    by_actor = await client.get("/verwaltung/protokoll", params={"akteur": "clerk@"})
    assert "3 Einträge" in by_actor.text
    by_subject = await client.get("/verwaltung/protokoll", params={"betroffen": "anna@example.org"})
    assert "6 Einträge" in by_subject.text
    by_subject_id = await client.get("/verwaltung/protokoll", params={"betroffen": str(bert.id)})
    assert "3 Einträge" in by_subject_id.text
    by_action = await client.get(
        "/verwaltung/protokoll", params={"aktion": "personal_data.read", "betroffen": "anna"}
    )
    assert "3 Einträge" in by_action.text
    one_day = await client.get("/verwaltung/protokoll", params={"von": "2026-11-18", "bis": "2026-11-18"})
    assert "3 Einträge" in one_day.text
    since = await client.get("/verwaltung/protokoll", params={"von": "2026-11-18"})
    assert "6 Einträge" in since.text
    bad = await client.get("/verwaltung/protokoll", params={"von": "18.11."})
    assert bad.status_code == 400
    assert "JJJJ-MM-TT" in bad.text


async def test_pseudonymise_keeps_entries(
    client: AsyncTestClient[Any], runtime: Runtime, clock: FrozenClock
) -> None:
    """(``client`` only so that the engine is disposed after the test.)"""
    admin = await make_user(runtime, "admin@example.org", roles=(("admin", None),))
    anna = await make_user(runtime, "anna@example.org")
    secret = runtime.settings.secret_key
    async with runtime.sessions() as session:
        entry = await audit.record_personal_read(
            session, actor=admin, subject=anna, now=clock.now(), target="x"
        )
        own = await audit.record(session, actor=anna, action="consent.granted", now=clock.now())
        assert entry.actor_label == "admin@example.org"
        assert entry.subject_label == "anna@example.org"
        count = await audit.pseudonymise_user(session, anna.id, secret)
        await session.commit()
        await session.refresh(entry)
        await session.refresh(own)
    alias = audit.pseudonym(secret, anna.id)
    assert count == 2
    assert alias.startswith("pseudonym:")
    assert len(alias) == len("pseudonym:") + 12
    assert alias == audit.pseudonym(secret, anna.id) != audit.pseudonym(secret, admin.id)
    assert (entry.subject_id, entry.subject_label, entry.actor_label) == (None, alias, "admin@example.org")
    assert (own.actor_id, own.actor_label) == (None, alias)
