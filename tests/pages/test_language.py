"""The language switch: a cookie for everyone, and remembered on the account of a logged-in user."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.core.accounts.models import User
from tests.support.accounts import login_as, make_user
from tests.support.web import post_form


async def test_switch_sets_cookie_and_remembers_the_users_choice(
    client: AsyncTestClient[Any], app: Litestar
) -> None:
    runtime = app.state.runtime
    user = await make_user(runtime, "erika@example.org")
    await login_as(client, runtime, user)
    response = await post_form(
        client, "/sprache", {"lang": "en", "next": "/impressum"}, token_from="/impressum"
    )
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/impressum"
    assert "stadtkern_lang=en" in response.headers["set-cookie"]
    page = await client.get("/impressum")
    assert '<html lang="en">' in page.text
    assert "<h1>Imprint</h1>" in page.text
    async with runtime.sessions() as session:
        assert await session.scalar(select(User.locale).where(User.id == user.id)) == "en"


async def test_switch_refuses_foreign_redirects_and_unknown_languages(client: AsyncTestClient[Any]) -> None:
    response = await post_form(
        client, "/sprache", {"lang": "xx", "next": "https://example.org/"}, token_from="/"
    )
    assert response.headers["location"] == "/"
    assert "stadtkern_lang" not in response.headers.get("set-cookie", "")
