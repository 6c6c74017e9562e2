"""Administration: user list, audited detail view, roles with scopes, status, staff accounts, dead jobs."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.core.accounts.models import RoleAssignment, User
from stadtkern.core.audit.models import AuditEntry
from stadtkern.core.jobs.models import Job
from stadtkern.core.security import verify_password
from stadtkern.web.runtime import Runtime
from tests.support.accounts import login_as, make_user
from tests.support.web import post_form


async def _entries(runtime: Runtime, action: str) -> list[AuditEntry]:
    async with runtime.sessions() as session:
        return list((await session.scalars(select(AuditEntry).where(AuditEntry.action == action))).all())


async def _user(runtime: Runtime, user_id: int) -> User:
    async with runtime.sessions() as session:
        user = await session.scalar(select(User).where(User.id == user_id))
    assert user is not None
    return user


async def test_only_admins(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    clerk = await make_user(runtime, "clerk@example.org", roles=(("clerk", None),))
    await login_as(client, runtime, clerk)
    for path in (
        "/verwaltung",
        "/verwaltung/nutzer",
        "/verwaltung/protokoll",
        f"/verwaltung/nutzer/{clerk.id}",
    ):
        assert (await client.get(path)).status_code == 403, path


async def test_user_list_search_filter_and_pages(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    admin = await make_user(runtime, "admin@example.org", roles=(("admin", None),))
    async with runtime.sessions() as session:  # plain rows: hashing 30 passwords is slow
        for number in range(30):
            session.add(
                User(
                    email=f"buerger{number:02d}@example.org",
                    display_name=f"Bürger {number}",
                    created_at=runtime.clock.now(),
                    roles=[],
                )
            )
        await session.commit()
    await make_user(
        runtime, "sachbearbeitung@example.org", display_name="Clara Klee", roles=(("clerk", "bs-mitte"),)
    )
    await login_as(client, runtime, admin)

    first = await client.get("/verwaltung/nutzer")
    assert first.status_code == 200
    assert "32 Konten gefunden" in first.text
    assert "Seite 1 von 2" in first.text
    assert "seite=2" in first.text
    second = await client.get("/verwaltung/nutzer", params={"seite": 2})
    assert "buerger29@example.org" in second.text
    assert "buerger00@example.org" not in second.text

    by_name = await client.get("/verwaltung/nutzer", params={"q": "klee"})
    assert "sachbearbeitung@example.org" in by_name.text
    assert "1 Konto gefunden" in by_name.text
    by_role = await client.get("/verwaltung/nutzer", params={"rolle": "clerk"})
    assert "sachbearbeitung@example.org" in by_role.text
    assert "buerger01" not in by_role.text
    literal = await client.get("/verwaltung/nutzer", params={"q": "%"})
    assert "0 Konten gefunden" in literal.text


async def test_detail_view_is_audited_and_shown_to_citizen(
    client: AsyncTestClient[Any], runtime: Runtime
) -> None:
    admin = await make_user(runtime, "admin@example.org", roles=(("admin", None),))
    citizen = await make_user(runtime, "bert@example.org", display_name="Bert Bürger")
    await login_as(client, runtime, citizen)
    assert "Bisher hat niemand" in (await client.get("/meine-daten")).text

    await login_as(client, runtime, admin)
    page = await client.get(f"/verwaltung/nutzer/{citizen.id}")
    assert page.status_code == 200
    assert "Bert Bürger" in page.text
    reads = await _entries(runtime, "personal_data.read")
    assert [(e.actor_id, e.subject_id) for e in reads] == [(admin.id, citizen.id)]
    assert (await client.get("/verwaltung/nutzer/99999")).status_code == 404

    await login_as(client, runtime, citizen)
    mine = await client.get("/meine-daten")
    section = mine.text.split('id="zugriffe"', 1)[1]
    assert "admin@example.org" in section
    assert "Daten eingesehen" in section
    assert "17.11.2026" in section  # the time, in Berlin


async def test_roles_with_scope_and_self_protection(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    admin = await make_user(runtime, "admin@example.org", roles=(("admin", None),))
    clerk = await make_user(runtime, "clara@example.org")
    await login_as(client, runtime, admin)
    detail = f"/verwaltung/nutzer/{clerk.id}"

    page = await client.get(detail)
    assert "Bürgerservice Mitte" in page.text
    assert "Stadtwerke Duisburg" in page.text
    response = await post_form(
        client, f"{detail}/rollen", {"role": "clerk", "scope": "bs-mitte"}, token_from=detail
    )
    assert response.status_code in (302, 303)
    wrong_kind = await post_form(
        client, f"{detail}/rollen", {"role": "clerk", "scope": "dvg"}, token_from=detail
    )
    assert wrong_kind.status_code == 400
    unscoped_role = await post_form(
        client, f"{detail}/rollen", {"role": "admin", "scope": "dvg"}, token_from=detail
    )
    assert unscoped_role.status_code == 400
    async with runtime.sessions() as session:
        rows = (
            await session.scalars(
                select(RoleAssignment).where(
                    RoleAssignment.user_id == clerk.id, RoleAssignment.role == "clerk"
                )
            )
        ).all()
    assert [(r.scope_kind, r.scope_key, r.created_by) for r in rows] == [("office", "bs-mitte", admin.id)]
    assigned = await _entries(runtime, "role.assigned")
    assert assigned[0].subject_id == clerk.id
    assert assigned[0].detail["scope_key"] == "bs-mitte"

    removed = await post_form(client, f"{detail}/rollen/{rows[0].id}/entfernen", {}, token_from=detail)
    assert removed.status_code in (302, 303)
    assert "clerk" not in (await _user(runtime, clerk.id)).role_names()
    assert len(await _entries(runtime, "role.removed")) == 1

    # An admin cannot demote or deactivate themselves.
    own = f"/verwaltung/nutzer/{admin.id}"
    admin_row = next(a for a in admin.roles if a.role == "admin")
    refused = await post_form(client, f"{own}/rollen/{admin_row.id}/entfernen", {}, token_from=own)
    assert refused.status_code == 400
    assert "nicht selbst entziehen" in refused.text
    assert "admin" in (await _user(runtime, admin.id)).role_names()
    refused = await post_form(client, f"{own}/status", {"action": "deactivate"}, token_from=own)
    assert refused.status_code == 400
    assert (await _user(runtime, admin.id)).is_active


async def test_deactivate_ends_sessions_and_reactivate(
    client: AsyncTestClient[Any], runtime: Runtime
) -> None:
    admin = await make_user(runtime, "admin@example.org", roles=(("admin", None),))
    citizen = await make_user(runtime, "bert@example.org")
    citizen_session = await login_as(client, runtime, citizen)
    await login_as(client, runtime, admin)
    detail = f"/verwaltung/nutzer/{citizen.id}"
    response = await post_form(client, f"{detail}/status", {"action": "deactivate"}, token_from=detail)
    assert response.status_code in (302, 303)
    user = await _user(runtime, citizen.id)
    assert not user.is_active
    assert user.session_epoch == 1
    await post_form(client, f"{detail}/status", {"action": "reactivate"}, token_from=detail)
    assert (await _user(runtime, citizen.id)).is_active
    assert [e.action for e in await _entries(runtime, "user.deactivated")] == ["user.deactivated"]
    assert len(await _entries(runtime, "user.reactivated")) == 1
    # The old session stays ended after reactivation.
    client.cookies.set("stadtkern_session", citizen_session, domain="testserver.local")
    assert (await client.get("/meine-daten", follow_redirects=False)).status_code in (302, 303, 307)


async def test_create_staff_account_with_one_time_password(
    client: AsyncTestClient[Any], runtime: Runtime
) -> None:
    admin = await make_user(runtime, "admin@example.org", roles=(("admin", None),))
    await login_as(client, runtime, admin)
    response = await post_form(
        client,
        "/verwaltung/nutzer/neu",
        {"email": "Olaf.Operator@Example.org", "display_name": "Olaf", "role": "operator", "scope": "dvg"},
    )
    assert response.status_code == 200
    match = re.search(r'<code id="einmal-passwort">([^<]+)</code>', response.text)
    assert match
    async with runtime.sessions() as session:
        user = await session.scalar(select(User).where(User.email == "olaf.operator@example.org"))
    assert user is not None
    assert user.must_change_password
    assert user.email_verified_at is not None
    assert verify_password(user.password_hash, match.group(1))
    assert [(a.role, a.scope_kind, a.scope_key) for a in user.roles] == [("operator", "organisation", "dvg")]
    assert (await _entries(runtime, "user.created"))[0].subject_id == user.id

    again = await post_form(
        client, "/verwaltung/nutzer/neu", {"email": "olaf.operator@example.org", "role": "clerk", "scope": ""}
    )
    assert again.status_code == 400
    assert "bereits ein Konto" in again.text
    bad_scope = await post_form(
        client, "/verwaltung/nutzer/neu", {"email": "neu@example.org", "role": "clerk", "scope": "dvg"}
    )
    assert bad_scope.status_code == 400


async def test_landing_shows_dead_jobs(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    admin = await make_user(runtime, "admin@example.org", roles=(("admin", None),))
    now = runtime.clock.now()
    async with runtime.sessions() as session:
        session.add(
            Job(
                kind="mail.deliver",
                status="dead",
                attempts=8,
                max_attempts=8,
                run_at=now,
                created_at=now,
                finished_at=now,
                last_error="SMTPRecipientsRefused: 550 no such user",
            )
        )
        session.add(Job(kind="mail.deliver", status="done", run_at=now, created_at=now, last_error=None))
        await session.commit()
    await login_as(client, runtime, admin)
    page = await client.get("/verwaltung")
    assert page.status_code == 200
    assert "/verwaltung/nutzer" in page.text
    assert "/verwaltung/protokoll" in page.text
    assert "SMTPRecipientsRefused: 550 no such user" in page.text
    assert page.text.count("mail.deliver") == 1
