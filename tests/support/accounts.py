"""Accounts for tests: create users and log them in by writing a session straight into the store.

Staff with operator/admin roles need a second factor at the real login; tests of other features
should not depend on that flow, so the session is written the way the session middleware stores it.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from stadtkern.core.accounts.models import User
from stadtkern.core.accounts.services import create_user
from stadtkern.web.runtime import Runtime
from stadtkern.web.session_store import DatabaseSessionStore

SESSION_COOKIE = "stadtkern_session"
PASSWORD = "ein sicheres Passwort"


async def make_user(
    runtime: Runtime,
    email: str,
    *,
    roles: tuple[tuple[str, str | None], ...] = (("citizen", None),),
    display_name: str = "",
    password: str = PASSWORD,
) -> User:
    async with runtime.sessions() as session:
        user = await create_user(
            session,
            email=email,
            password=password,
            now=runtime.clock.now(),
            display_name=display_name,
            roles=roles,
            verified=True,
        )
        await session.commit()
        await session.refresh(user, ["roles"])
    return user


async def login_as(client: AsyncTestClient[Any], runtime: Runtime, user: User) -> str:
    """Give ``client`` a logged-in session of ``user``; returns the session id."""
    async with runtime.sessions() as session:
        epoch = await session.scalar(select(User.session_epoch).where(User.id == user.id))
    session_id = secrets.token_hex(16)
    store = DatabaseSessionStore(runtime.sessions, runtime.clock)
    data = json.dumps({"uid": user.id, "epoch": epoch}).encode()
    await store.set(session_id, data, expires_in=3600)
    client.cookies.delete(SESSION_COOKIE)
    client.cookies.set(SESSION_COOKIE, session_id, domain="testserver.local")
    return session_id


def logout(client: AsyncTestClient[Any]) -> None:
    client.cookies.delete(SESSION_COOKIE)
