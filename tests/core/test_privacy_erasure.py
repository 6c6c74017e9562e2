"""Deleting an account (GDPR Art. 17): personal data gone everywhere, audit kept pseudonymised."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.core.accounts.models import AccountToken, LoginAttempt, RoleAssignment, User
from stadtkern.core.audit import services as audit
from stadtkern.core.audit.models import AuditEntry
from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.core.mail.models import OutboxMail
from stadtkern.core.mail.services import send_mail
from stadtkern.core.privacy.models import Consent, DataExport
from stadtkern.core.privacy.providers import LOGIN_EMAIL_PURPOSE
from stadtkern.core.security import keyed_hash, token_hash
from stadtkern.db.base import Base, is_personal
from stadtkern.pages.models import AccessibilityFeedback
from stadtkern.web.runtime import Runtime
from tests.support.accounts import PASSWORD, login_as, make_user
from tests.support.web import post_form

EMAIL = "anna.loeschen@example.org"


async def _dump_personal_tables(runtime: Runtime) -> str:
    """Everything in every personal table, as text."""
    chunks = []
    async with runtime.sessions() as session:
        for table in Base.metadata.sorted_tables:
            if is_personal(table):
                rows = (await session.execute(select(table))).all()
                chunks.append(f"{table.name}: {[tuple(row) for row in rows]!r}")
    return "\n".join(chunks)


async def test_erasure_removes_personal_data_everywhere(
    client: AsyncTestClient[Any], runtime: Runtime, jobs: JobRunner, clock: FrozenClock, data_dir: Any
) -> None:
    anna = await make_user(
        runtime, EMAIL, display_name="Anna Löschen", roles=(("citizen", None), ("clerk", "bs-mitte"))
    )
    admin = await make_user(runtime, "admin@example.org", roles=(("admin", None),))
    other = await make_user(runtime, "bert@example.org", display_name="Bert")
    now = clock.now()
    async with runtime.sessions() as session:
        session.add(Consent(user_id=anna.id, purpose="service_news", granted_at=now))
        session.add(
            AccountToken(
                user_id=anna.id,
                purpose="verify",
                token_hash=token_hash("t"),
                created_at=now,
                expires_at=now + timedelta(days=1),
            )
        )
        secret = runtime.settings.secret_key
        session.add(
            LoginAttempt(email_hash=keyed_hash(secret, EMAIL, LOGIN_EMAIL_PURPOSE), ip_hash="x", at=now)
        )
        session.add(
            AccessibilityFeedback(created_at=now, user_id=anna.id, message="Kontrast zu gering", email=EMAIL)
        )
        await send_mail(
            session, to=EMAIL, subject="Willkommen Anna", body_text="Hallo Anna", now=now, user_id=anna.id
        )
        await send_mail(
            session, to="bert@example.org", subject="Hallo Bert", body_text="x", now=now, user_id=other.id
        )
        # Anna as staff did something to Bert; an admin read Anna's data.
        await audit.record_personal_read(session, actor=anna, subject=other, now=now, target="test")
        await audit.record_personal_read(session, actor=admin, subject=anna, now=now, target="test")
        await session.commit()
    anna_session = await login_as(client, runtime, anna)
    await post_form(client, "/meine-daten/export", {}, token_from="/meine-daten")
    await jobs.run_until_idle()
    async with runtime.sessions() as session:
        export = (await session.scalars(select(DataExport))).one()
    assert export.file_name
    export_file = runtime.settings.data_dir / "exports" / export.file_name
    assert export_file.is_file()
    assert EMAIL in await _dump_personal_tables(runtime)

    page = await client.get("/meine-daten/konto-loeschen")
    assert page.status_code == 200
    assert "Nachweispflicht nach Art. 5 Abs. 2 DSGVO" in page.text

    wrong = await post_form(client, "/meine-daten/konto-loeschen", {"password": "falsch", "confirm": "yes"})
    assert wrong.status_code == 400
    unconfirmed = await post_form(client, "/meine-daten/konto-loeschen", {"password": PASSWORD})
    assert unconfirmed.status_code == 400
    async with runtime.sessions() as session:
        assert (await session.get(User, anna.id)) is not None
        assert (await session.scalar(select(User.email).where(User.id == anna.id))) == EMAIL

    done = await post_form(client, "/meine-daten/konto-loeschen", {"password": PASSWORD, "confirm": "yes"})
    assert done.status_code == 200
    assert "Ihr Konto ist gelöscht" in done.text
    assert "Nachweispflicht nach Art. 5 Abs. 2 DSGVO" in done.text
    assert "consents: 1" in done.text

    dump = await _dump_personal_tables(runtime)
    assert EMAIL not in dump
    assert "Anna Löschen" not in dump
    assert "Kontrast zu gering" not in dump
    assert "Willkommen Anna" not in dump
    assert "bert@example.org" in dump  # nobody else's data is touched
    assert not export_file.exists()

    async with runtime.sessions() as session:
        user = await session.scalar(select(User).where(User.id == anna.id))
        assert user is not None
        assert user.email is None
        assert user.display_name == ""
        assert user.password_hash is None
        assert user.totp_secret is None
        assert not user.is_active
        assert user.deleted_at == now
        assert user.session_epoch == 1
        assert not (
            await session.scalars(select(RoleAssignment).where(RoleAssignment.user_id == anna.id))
        ).all()
        for model in (Consent, DataExport, AccountToken, AccessibilityFeedback):
            assert not (await session.scalars(select(model).where(model.user_id == anna.id))).all()
        assert not (await session.scalars(select(LoginAttempt))).all()
        assert [m.to_address for m in (await session.scalars(select(OutboxMail))).all()] == [
            "bert@example.org"
        ]
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    alias = audit.pseudonym(runtime.settings.secret_key, anna.id)
    assert all(anna.id not in (e.actor_id, e.subject_id) for e in entries)
    by_action = {e.action: e for e in entries}
    assert by_action["account.erased"].subject_label == alias
    reads = [e for e in entries if e.action == "personal_data.read"]
    assert {(e.actor_label, e.subject_label) for e in reads} == {
        (alias, "bert@example.org"),
        ("admin@example.org", alias),
    }

    # The session that deleted the account is over, and so is every other one.
    response = await client.get("/meine-daten", follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    client.cookies.set("stadtkern_session", anna_session, domain="testserver.local")
    response = await client.get("/meine-daten", follow_redirects=False)
    assert response.status_code in (302, 303, 307)


async def test_last_admin_cannot_delete_account(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    admin = await make_user(runtime, "admin@example.org", roles=(("admin", None),))
    await login_as(client, runtime, admin)
    response = await post_form(
        client, "/meine-daten/konto-loeschen", {"password": PASSWORD, "confirm": "yes"}
    )
    assert response.status_code == 400
    assert "einzige Person mit Administrationsrechten" in response.text
