"""Citizen account flows through the web: register, verify, log in and out, reset and change passwords."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.core.accounts import services
from stadtkern.core.accounts.models import AccountToken, LoginAttempt, User
from stadtkern.core.clock import FrozenClock
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.core.privacy.models import Consent
from stadtkern.web.runtime import Runtime
from tests.conftest import make_settings
from tests.support.database import loop_safe_app
from tests.support.web import links_in, mail_text, post_form, read_mails

PASSWORD = "ein langes Passwort"
NEW_PASSWORD = "ein anderes langes Passwort"
COOKIE = "stadtkern_session"


async def make_user(runtime: Runtime, email: str = "bea@example.org", **kwargs: Any) -> User:
    async with runtime.sessions() as db:
        user = await services.create_user(
            db, email=email, password=kwargs.pop("password", PASSWORD), now=runtime.clock.now(), **kwargs
        )
        await db.commit()
    return user


async def load_user(runtime: Runtime, email: str) -> User:
    async with runtime.sessions() as db:
        user = await db.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


async def login(client: AsyncTestClient[Any], email: str, password: str = PASSWORD, **extra: str) -> Any:
    return await post_form(client, "/konto/anmelden", {"email": email, "password": password, **extra})


async def other_session(client: AsyncTestClient[Any], email: str) -> str:
    """Log in as "another browser": returns its session id and leaves the client logged out."""
    assert (await login(client, email)).status_code == 302
    session_id = client.cookies.get(COOKIE)
    assert session_id
    client.cookies.clear()
    return session_id


async def get_with_session(client: AsyncTestClient[Any], session_id: str, path: str) -> Any:
    return await client.get(path, headers={"cookie": f"{COOKIE}={session_id}"}, follow_redirects=False)


async def mails(jobs: JobRunner, data_dir: Path) -> list[Any]:
    await jobs.run_until_idle()
    return read_mails(data_dir / "mail")


async def test_register_verify_login_logout(
    client: AsyncTestClient[Any], runtime: Runtime, jobs: JobRunner, data_dir: Path
) -> None:
    page = await client.get("/konto/registrieren")
    assert page.status_code == 200
    assert 'autocomplete="new-password"' in page.text
    assert 'href="/datenschutz"' in page.text
    response = await post_form(
        client,
        "/konto/registrieren",
        {
            "email": "Bea@Example.org",
            "display_name": "Bea",
            "password": PASSWORD,
            "password_repeat": PASSWORD,
            "consent_service_news": "on",
            "privacy_ack": "on",
        },
    )
    assert response.status_code == 200
    assert "Bitte prüfen Sie Ihr Postfach" in response.text
    user = await load_user(runtime, "bea@example.org")
    assert user.email_verified_at is None
    assert user.role_names() == {"citizen"}
    async with runtime.sessions() as db:
        consents = (await db.scalars(select(Consent).where(Consent.user_id == user.id))).all()
        token_row = await db.scalar(select(AccountToken).where(AccountToken.user_id == user.id))
    assert [c.purpose for c in consents] == ["service_news"]
    assert token_row is not None
    assert token_row.purpose == "verify_email"

    # Not verified yet: login refused, with a way to get a new link.
    refused = await login(client, "bea@example.org")
    assert refused.status_code == 400
    assert "noch nicht bestätigt" in refused.text
    assert 'action="/konto/bestaetigung-senden"' in refused.text

    [mail] = await mails(jobs, data_dir)
    assert mail["To"] == "bea@example.org"
    [link] = [u for u in links_in(mail) if "/konto/bestaetigen/" in u]
    assert link.startswith("http://testserver.local/konto/bestaetigen/")
    assert token_row.token_hash not in mail_text(mail)  # only the hash is stored, the mail has the token
    path = link.removeprefix("http://testserver.local")
    assert (await client.get(path)).status_code == 200
    confirmed = await post_form(client, path, {})
    assert confirmed.status_code == 302
    assert confirmed.headers["location"] == "/konto/anmelden?hinweis=bestaetigt"
    assert (await load_user(runtime, "bea@example.org")).email_verified_at == runtime.clock.now()
    # The link works once.
    assert (await client.get(path)).status_code == 400
    assert (await post_form(client, path, {}, token_from="/konto/anmelden")).status_code == 400

    response = await login(client, "BEA@example.org", next="/meine-daten")
    assert response.status_code == 302
    assert response.headers["location"] == "/meine-daten"
    account = await client.get("/konto")
    assert account.status_code == 200
    assert "bea@example.org" in account.text
    assert (await load_user(runtime, "bea@example.org")).last_login_at == runtime.clock.now()

    out = await post_form(client, "/konto/abmelden", {}, token_from="/konto")
    assert out.status_code == 302
    gone = await client.get("/konto", follow_redirects=False)
    assert gone.status_code == 302
    assert gone.headers["location"].startswith("/konto/anmelden?next=")


async def test_registration_form_errors(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    response = await post_form(
        client,
        "/konto/registrieren",
        {"email": "kein-mail", "password": "kurz", "password_repeat": "kurz"},
    )
    assert response.status_code == 400
    text = response.text
    assert 'id="email-error"' in text
    assert 'id="password-error"' in text
    assert 'id="privacy_ack-error"' in text
    assert "mindestens 10 Zeichen" in text
    mismatch = await post_form(
        client,
        "/konto/registrieren",
        {
            "email": "a@example.org",
            "password": PASSWORD,
            "password_repeat": PASSWORD + "x",
            "privacy_ack": "on",
        },
    )
    assert mismatch.status_code == 400
    assert 'id="password_repeat-error"' in mismatch.text
    async with runtime.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(User)) == 0


async def test_duplicate_registration_does_not_reveal_the_account(
    client: AsyncTestClient[Any], runtime: Runtime, jobs: JobRunner, data_dir: Path
) -> None:
    await make_user(runtime, verified=True)
    form = {
        "email": "bea@example.org",
        "password": NEW_PASSWORD,
        "password_repeat": NEW_PASSWORD,
        "privacy_ack": "on",
    }
    response = await post_form(client, "/konto/registrieren", form)
    fresh = await post_form(client, "/konto/registrieren", {**form, "email": "neu@example.org"})
    assert response.status_code == fresh.status_code == 200
    assert response.text.replace("bea@example.org", "X") == fresh.text.replace("neu@example.org", "X")
    sent = await mails(jobs, data_dir)
    [attempt] = [m for m in sent if m["To"] == "bea@example.org"]
    assert "Registrierungsversuch" in attempt["Subject"]
    assert any("/konto/passwort-neu/" in link for link in links_in(attempt))
    # The existing account is unchanged.
    user = await load_user(runtime, "bea@example.org")
    async with runtime.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(User)) == 2
    assert (await login(client, "bea@example.org")).status_code == 302
    assert user.display_name == ""


async def test_wrong_password_and_unknown_address_look_the_same(
    client: AsyncTestClient[Any], runtime: Runtime
) -> None:
    await make_user(runtime, verified=True)
    wrong = await login(client, "bea@example.org", "falsches Passwort!")
    unknown = await login(client, "niemand@example.org", "falsches Passwort!")
    assert wrong.status_code == unknown.status_code == 400
    assert "E-Mail-Adresse oder Passwort ist nicht richtig." in wrong.text
    assert wrong.text.replace("bea@example.org", "X") == unknown.text.replace("niemand@example.org", "X")
    assert COOKIE not in client.cookies or client.cookies.get(COOKIE) in (None, "null")
    async with runtime.sessions() as db:
        attempts = (await db.scalars(select(LoginAttempt))).all()
    assert len(attempts) == 2
    assert all("bea" not in a.email_hash and len(a.email_hash) == 64 for a in attempts)


async def test_deactivated_account_gets_generic_refusal(
    client: AsyncTestClient[Any], runtime: Runtime
) -> None:
    user = await make_user(runtime, verified=True)
    async with runtime.sessions() as db:
        row = await db.get(User, user.id)
        assert row is not None
        row.is_active = False
        await db.commit()
    response = await login(client, "bea@example.org")
    assert response.status_code == 400
    assert "E-Mail-Adresse oder Passwort ist nicht richtig." in response.text


async def test_next_only_allows_same_site_paths(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    await make_user(runtime, verified=True)
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = await login(client, "bea@example.org", next=target)
        assert response.status_code == 302
        assert response.headers["location"] == "/konto"


async def test_throttling_per_address(
    client: AsyncTestClient[Any], runtime: Runtime, clock: FrozenClock
) -> None:
    await make_user(runtime, verified=True)
    for _ in range(5):
        assert (await login(client, "bea@example.org", "falsch falsch")).status_code == 400
    # The sixth attempt is refused even with the right password, and says when to try again.
    blocked = await login(client, "bea@example.org")
    assert blocked.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in blocked.text
    assert "10:15 Uhr" in blocked.text  # 09:00 UTC + 15 min, shown in Berlin time
    assert int(blocked.headers["retry-after"]) == 15 * 60 + 1
    clock.advance(timedelta(minutes=14))
    assert (await login(client, "bea@example.org")).status_code == 429
    clock.advance(timedelta(minutes=1, seconds=1))
    assert (await login(client, "bea@example.org")).status_code == 302


async def test_throttling_per_client_survives_success(
    client: AsyncTestClient[Any], runtime: Runtime, clock: FrozenClock
) -> None:
    await make_user(runtime, verified=True)
    for i in range(19):
        assert (await login(client, f"x{i}@example.org", "falsch falsch")).status_code == 400
    assert (await login(client, "bea@example.org")).status_code == 302
    await post_form(client, "/konto/abmelden", {}, token_from="/konto")
    assert (await login(client, "y@example.org", "falsch falsch")).status_code == 400
    # 20 failures from this client: everything from it waits, the success above did not reset them.
    assert (await login(client, "bea@example.org")).status_code == 429
    clock.advance(timedelta(minutes=16))
    assert (await login(client, "bea@example.org")).status_code == 302


async def test_session_id_changes_at_login(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    await make_user(runtime, verified=True)
    # A session id planted by an attacker (it exists in the store) must not survive the login.
    store = client.app.stores.get("sessions")
    await store.set("fixed-by-attacker", b'{"foo": "bar"}', expires_in=3600)
    client.cookies.set(COOKIE, "fixed-by-attacker", domain="testserver.local")
    response = await login(client, "bea@example.org")
    assert response.status_code == 302
    new_id = response.cookies.get(COOKIE)
    assert new_id
    assert new_id not in ("fixed-by-attacker", "null")
    assert await store.get("fixed-by-attacker") is None
    assert await store.get(new_id) is not None
    assert (await client.get("/konto")).status_code == 200


async def test_password_reset_flow(
    client: AsyncTestClient[Any], runtime: Runtime, jobs: JobRunner, data_dir: Path, clock: FrozenClock
) -> None:
    await make_user(runtime, verified=True)
    # Another browser is logged in; the reset ends its session.
    other = await other_session(client, "bea@example.org")
    assert (await get_with_session(client, other, "/konto")).status_code == 200

    known = await post_form(client, "/konto/passwort-vergessen", {"email": "bea@example.org"})
    unknown = await post_form(client, "/konto/passwort-vergessen", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("bea@example.org", "X") == unknown.text.replace("nobody@example.org", "X")
    [mail] = await mails(jobs, data_dir)
    assert mail["To"] == "bea@example.org"
    [link] = [u for u in links_in(mail) if "/konto/passwort-neu/" in u]
    path = link.removeprefix("http://testserver.local")

    assert (await client.get(path)).status_code == 200
    mismatch = await post_form(client, path, {"password": NEW_PASSWORD, "password_repeat": "anders"})
    assert mismatch.status_code == 400
    assert 'id="password_repeat-error"' in mismatch.text
    done = await post_form(client, path, {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert done.status_code == 302
    assert done.headers["location"] == "/konto/anmelden?hinweis=passwort-neu"
    # Used once only.
    assert (await client.get(path)).status_code == 400
    again = await post_form(
        client, path, {"password": PASSWORD, "password_repeat": PASSWORD}, token_from="/konto/anmelden"
    )
    assert again.status_code == 400
    assert "ungültig" in again.text
    # The other session has ended; the old password no longer works, the new one does.
    assert (await get_with_session(client, other, "/konto")).status_code == 302
    assert (await login(client, "bea@example.org")).status_code == 400
    assert (await login(client, "bea@example.org", NEW_PASSWORD)).status_code == 302

    # A link expires after an hour.
    await post_form(client, "/konto/abmelden", {}, token_from="/konto")
    await post_form(client, "/konto/passwort-vergessen", {"email": "bea@example.org"})
    latest = (await mails(jobs, data_dir))[-1]
    [late] = [u for u in links_in(latest) if "/konto/passwort-neu/" in u]
    clock.advance(timedelta(hours=1, seconds=1))
    late_path = late.removeprefix("http://testserver.local")
    assert (await client.get(late_path)).status_code == 400
    refused = await post_form(
        client, late_path, {"password": PASSWORD, "password_repeat": PASSWORD}, token_from="/konto/anmelden"
    )
    assert refused.status_code == 400
    assert (await login(client, "bea@example.org", NEW_PASSWORD)).status_code == 302


async def test_verification_link_expires_and_can_be_resent(
    client: AsyncTestClient[Any], runtime: Runtime, jobs: JobRunner, data_dir: Path, clock: FrozenClock
) -> None:
    form = {
        "email": "bea@example.org",
        "password": PASSWORD,
        "password_repeat": PASSWORD,
        "privacy_ack": "on",
    }
    await post_form(client, "/konto/registrieren", form)
    [first] = await mails(jobs, data_dir)
    clock.advance(timedelta(hours=48, seconds=1))
    old_path = next(u for u in links_in(first) if "/bestaetigen/" in u).removeprefix(
        "http://testserver.local"
    )
    assert (await client.get(old_path)).status_code == 400
    resent = await post_form(
        client, "/konto/bestaetigung-senden", {"email": "bea@example.org"}, token_from="/konto/anmelden"
    )
    assert resent.status_code == 200
    # Unknown addresses get the same answer and no mail.
    other = await post_form(
        client, "/konto/bestaetigung-senden", {"email": "x@example.org"}, token_from="/konto/anmelden"
    )
    assert other.text == resent.text
    sent = await mails(jobs, data_dir)
    assert len(sent) == 2
    new_path = next(u for u in links_in(sent[1]) if "/bestaetigen/" in u).removeprefix(
        "http://testserver.local"
    )
    assert (await post_form(client, new_path, {})).status_code == 302
    assert (await login(client, "bea@example.org")).status_code == 302


async def test_change_password_ends_other_sessions(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    await make_user(runtime, verified=True)
    other = await other_session(client, "bea@example.org")
    assert (await login(client, "bea@example.org")).status_code == 302
    wrong = await post_form(
        client,
        "/konto/passwort",
        {"current_password": "falsch falsch", "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD},
    )
    assert wrong.status_code == 400
    assert 'id="current_password-error"' in wrong.text
    changed = await post_form(
        client,
        "/konto/passwort",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD},
    )
    assert changed.status_code == 302
    # This session stays, the other one has ended.
    page = await client.get("/konto?hinweis=passwort")
    assert page.status_code == 200
    assert "Ihr Passwort ist geändert" in page.text
    assert (await get_with_session(client, other, "/konto")).status_code == 302
    assert (await load_user(runtime, "bea@example.org")).session_epoch == 1


async def test_account_page_updates_name_and_language(client: AsyncTestClient[Any], runtime: Runtime) -> None:
    await make_user(runtime, verified=True)
    await login(client, "bea@example.org")
    too_long = await post_form(client, "/konto", {"display_name": "x" * 121, "locale": "de"})
    assert too_long.status_code == 400
    assert 'id="display_name-error"' in too_long.text
    saved = await post_form(client, "/konto", {"display_name": "Bea B.", "locale": "en"})
    assert saved.status_code == 302
    user = await load_user(runtime, "bea@example.org")
    assert (user.display_name, user.locale) == ("Bea B.", "en")
    page = await client.get("/konto")
    assert 'lang="en"' in page.text
    assert 'href="/meine-daten"' in page.text


async def test_reset_links_are_not_sent_in_a_flood(
    client: AsyncTestClient[Any], runtime: Runtime, jobs: JobRunner, data_dir: Path, clock: FrozenClock
) -> None:
    await make_user(runtime, verified=True)
    for _ in range(3):
        response = await post_form(client, "/konto/passwort-vergessen", {"email": "bea@example.org"})
        assert response.status_code == 200
    assert len(await mails(jobs, data_dir)) == 1
    clock.advance(timedelta(minutes=2, seconds=1))
    await post_form(client, "/konto/passwort-vergessen", {"email": "bea@example.org"})
    sent = await mails(jobs, data_dir)
    assert len(sent) == 2
    # Both links work until one of them is used; then the other is void as well.
    first, second = (
        next(u for u in links_in(m) if "/passwort-neu/" in u).removeprefix("http://testserver.local")
        for m in sent
    )
    assert (await client.get(first)).status_code == 200
    done = await post_form(client, second, {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert done.status_code == 302
    assert (await client.get(first)).status_code == 400


async def test_invalid_forgot_form(client: AsyncTestClient[Any]) -> None:
    response = await post_form(client, "/konto/passwort-vergessen", {"email": ""})
    assert response.status_code == 400
    assert 'id="email-error"' in response.text


async def test_mail_links_use_the_public_url_not_the_host_header(
    db_url: str, data_dir: Path, clock: FrozenClock
) -> None:
    settings = make_settings(db_url, data_dir, public_url="https://stadtkern.example.de")
    app = loop_safe_app(settings, clock)
    runner = JobRunner(app.state.runtime)
    async with AsyncTestClient(app=app, base_url="http://angreifer.example") as client:
        await post_form(client, "/konto/passwort-vergessen", {"email": "niemand@example.org"})
        await make_user(app.state.runtime, "erika@example.org", verified=True)
        await post_form(client, "/konto/passwort-vergessen", {"email": "erika@example.org"})
    await runner.run_until_idle()
    await app.state.runtime.engine.dispose()
    links = [link for mail in read_mails(data_dir / "mail") for link in links_in(mail)]
    assert links
    assert all(link.startswith("https://stadtkern.example.de/") for link in links)
