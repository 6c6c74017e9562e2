"""Staff logins: the second factor (TOTP) for operators and admins, and the forced password change."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from stadtkern.core.accounts.models import LoginAttempt
from stadtkern.core.clock import FrozenClock
from stadtkern.web.runtime import Runtime
from tests.core.test_accounts_flows import COOKIE, NEW_PASSWORD, PASSWORD, load_user, login, make_user
from tests.support.web import post_form, totp_code

SECRET_RE = re.compile(r'<code id="totp-secret">([A-Z2-7 ]+)</code>')


def secret_from(page: str) -> str:
    match = SECRET_RE.search(page)
    assert match, "no TOTP secret on the page"
    return match.group(1).replace(" ", "")


async def enrol(client: AsyncTestClient[Any], clock: FrozenClock, action: str = "/konto/zwei-faktor") -> str:
    page = await client.get(action)
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "qr-code" in page.text
    assert 'autocomplete="one-time-code"' in page.text
    secret = secret_from(page.text)
    done = await post_form(client, action, {"code": totp_code(secret, clock.now().timestamp())})
    assert done.status_code == 302
    return secret


async def test_operator_enrols_and_logs_in_with_second_factor(
    client: AsyncTestClient[Any], runtime: Runtime, clock: FrozenClock
) -> None:
    await make_user(runtime, "op@example.org", roles=(("operator", "dvv"),), verified=True)
    response = await login(client, "op@example.org", next="/konto")
    assert response.status_code == 302
    assert response.headers["location"] == "/konto/zwei-faktor"
    pending_id = client.cookies.get(COOKIE)
    # Password alone is not a login.
    assert (await client.get("/konto", follow_redirects=False)).status_code == 302

    page = await client.get("/konto/zwei-faktor")
    secret = secret_from(page.text)
    assert "http" not in page.text.split("<svg", 1)[1].split("</svg>", 1)[0]  # inline, no external request
    wrong = await post_form(client, "/konto/zwei-faktor", {"code": "000000"})
    assert wrong.status_code == 400
    assert 'id="code-error"' in wrong.text
    # The secret shown stays the same until it is confirmed.
    assert secret_from(wrong.text) == secret
    done = await post_form(client, "/konto/zwei-faktor", {"code": totp_code(secret, clock.now().timestamp())})
    assert done.status_code == 302
    assert done.headers["location"] == "/konto"
    assert client.cookies.get(COOKIE) != pending_id
    assert (await client.get("/konto")).status_code == 200
    user = await load_user(runtime, "op@example.org")
    assert user.totp_enabled_at == clock.now()
    assert user.totp_secret == secret

    # Next login: only the code is asked, no QR code, no secret.
    await post_form(client, "/konto/abmelden", {}, token_from="/konto")
    clock.advance(timedelta(minutes=5))
    assert (await login(client, "op@example.org")).headers["location"] == "/konto/zwei-faktor"
    page = await client.get("/konto/zwei-faktor")
    assert "<svg" not in page.text
    assert secret not in page.text.replace(" ", "")
    done = await post_form(client, "/konto/zwei-faktor", {"code": totp_code(secret, clock.now().timestamp())})
    assert done.status_code == 302
    assert (await client.get("/konto")).status_code == 200


async def test_wrong_codes_are_throttled(
    client: AsyncTestClient[Any], runtime: Runtime, clock: FrozenClock
) -> None:
    await make_user(runtime, "op@example.org", roles=(("operator", "dvv"),), verified=True)
    await login(client, "op@example.org")
    secret = secret_from((await client.get("/konto/zwei-faktor")).text)
    for _ in range(5):
        assert (await post_form(client, "/konto/zwei-faktor", {"code": "123456"})).status_code == 400
    async with runtime.sessions() as db:
        assert await db.scalar(select(func.count()).select_from(LoginAttempt)) == 5
    blocked = await post_form(
        client, "/konto/zwei-faktor", {"code": totp_code(secret, clock.now().timestamp())}
    )
    assert blocked.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldeversuche" in blocked.text
    # The password step is blocked for this address as well.
    assert (await login(client, "op@example.org")).status_code == 429
    clock.advance(timedelta(minutes=16))
    assert (await login(client, "op@example.org")).status_code == 302
    done = await post_form(client, "/konto/zwei-faktor", {"code": totp_code(secret, clock.now().timestamp())})
    assert done.status_code == 302
    assert (await client.get("/konto")).status_code == 200


async def test_second_factor_page_needs_the_password_first(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/konto/zwei-faktor", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "/konto/anmelden"


async def test_must_change_password_before_anything_else(
    client: AsyncTestClient[Any], runtime: Runtime
) -> None:
    await make_user(
        runtime, "clerk@example.org", roles=(("clerk", None),), verified=True, must_change_password=True
    )
    response = await login(client, "clerk@example.org", next="/meine-daten")
    assert response.status_code == 302
    assert response.headers["location"] == "/konto/passwort"
    # Not logged in for anything else until the password is changed.
    assert (await client.get("/konto", follow_redirects=False)).status_code == 302
    assert (await client.get("/meine-daten", follow_redirects=False)).status_code in (302, 404)
    page = await client.get("/konto/passwort")
    assert page.status_code == 200
    assert "current_password" not in page.text
    same = await post_form(client, "/konto/passwort", {"password": PASSWORD, "password_repeat": PASSWORD})
    assert same.status_code == 400
    assert 'id="password-error"' in same.text
    done = await post_form(
        client, "/konto/passwort", {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert done.headers["location"] == "/meine-daten"
    assert (await client.get("/konto")).status_code == 200
    user = await load_user(runtime, "clerk@example.org")
    assert not user.must_change_password
    await post_form(client, "/konto/abmelden", {}, token_from="/konto")
    assert (await login(client, "clerk@example.org", NEW_PASSWORD)).headers["location"] == "/konto"


async def test_first_admin_changes_password_then_enrols(
    client: AsyncTestClient[Any], runtime: Runtime, clock: FrozenClock
) -> None:
    await make_user(
        runtime, "admin@example.org", roles=(("admin", None),), verified=True, must_change_password=True
    )
    assert (await login(client, "admin@example.org")).headers["location"] == "/konto/passwort"
    # The second factor cannot be skipped to by hand.
    assert (await client.get("/konto/zwei-faktor", follow_redirects=False)).status_code == 302
    done = await post_form(
        client, "/konto/passwort", {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD}
    )
    assert done.headers["location"] == "/konto/zwei-faktor"
    assert (await client.get("/konto", follow_redirects=False)).status_code == 302
    await enrol(client, clock)
    assert (await client.get("/konto")).status_code == 200


async def test_citizen_may_switch_second_factor_on_and_off(
    client: AsyncTestClient[Any], runtime: Runtime, clock: FrozenClock
) -> None:
    await make_user(runtime, verified=True)
    await login(client, "bea@example.org")
    secret = await enrol(client, clock, "/konto/zwei-faktor/einrichten")
    await post_form(client, "/konto/abmelden", {}, token_from="/konto")
    clock.advance(timedelta(seconds=30))  # each code works once: the app shows the next one
    assert (await login(client, "bea@example.org")).headers["location"] == "/konto/zwei-faktor"
    await post_form(client, "/konto/zwei-faktor", {"code": totp_code(secret, clock.now().timestamp())})
    clock.advance(timedelta(seconds=30))
    page = await client.get("/konto")
    assert "/konto/zwei-faktor/ausschalten" in page.text
    wrong = await post_form(client, "/konto/zwei-faktor/ausschalten", {"code": "000000"}, token_from="/konto")
    assert wrong.status_code == 400
    off = await post_form(
        client,
        "/konto/zwei-faktor/ausschalten",
        {"code": totp_code(secret, clock.now().timestamp())},
        token_from="/konto",
    )
    assert off.status_code == 302
    await post_form(client, "/konto/abmelden", {}, token_from="/konto")
    assert (await login(client, "bea@example.org")).headers["location"] == "/konto"


async def test_a_code_works_only_once(
    client: AsyncTestClient[Any], runtime: Runtime, clock: FrozenClock
) -> None:
    await make_user(runtime, "op@example.org", roles=(("operator", "dvv"),), verified=True)
    await login(client, "op@example.org")
    secret = await enrol(client, clock)
    await post_form(client, "/konto/abmelden", {}, token_from="/konto")
    clock.advance(timedelta(seconds=30))
    code = totp_code(secret, clock.now().timestamp())
    await login(client, "op@example.org")
    assert (await post_form(client, "/konto/zwei-faktor", {"code": code})).status_code == 302
    await post_form(client, "/konto/abmelden", {}, token_from="/konto")
    # Someone who saw the code tries it again within its 30 seconds: refused.
    await login(client, "op@example.org")
    assert (await post_form(client, "/konto/zwei-faktor", {"code": code})).status_code == 400
    clock.advance(timedelta(seconds=30))
    fresh = totp_code(secret, clock.now().timestamp())
    assert (await post_form(client, "/konto/zwei-faktor", {"code": fresh})).status_code == 302
