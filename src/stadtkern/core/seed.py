"""First start: the admin account and each module's part of the city profile."""

from __future__ import annotations

import inspect
from typing import Any

from stadtkern.config import Settings
from stadtkern.core.accounts.services import AccountError, count_admins, create_user
from stadtkern.core.city import load_city
from stadtkern.core.clock import SystemClock
from stadtkern.core.security import one_time_password
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.modules import plugin_manager

ADMIN_EMAIL = "admin@stadtkern.localhost"


async def seed(settings: Settings) -> tuple[str, str] | None:
    """Load module seed data into an empty database; create the first admin.

    Returns (email, one-time password) when an admin was created, else None.
    """
    city = load_city(settings.city_dir)
    pm = plugin_manager(city.modules.enabled)
    engine = create_engine(settings.database_url)
    now = SystemClock().now()
    try:
        async with session_factory(engine)() as session:
            hook: Any = pm.hook
            for result in hook.stadtkern_seed(session=session, city=city):
                if inspect.isawaitable(result):
                    await result
            created = None
            if await count_admins(session) == 0:
                password = one_time_password()
                await create_user(
                    session,
                    email=ADMIN_EMAIL,
                    password=password,
                    now=now,
                    display_name="Administration",
                    roles=(("admin", None),),
                    verified=True,
                    must_change_password=True,
                )
                created = (ADMIN_EMAIL, password)
            await session.commit()
            return created
    finally:
        await engine.dispose()


async def create_account(
    settings: Settings, email: str, roles: tuple[str, ...], scope: str | None, display_name: str
) -> str:
    """Create a verified account with a one-time password (CLI). Raises ValueError with a message."""
    city = load_city(settings.city_dir)
    engine = create_engine(settings.database_url)
    password = one_time_password()
    role_scopes: list[tuple[str, str | None]] = []
    for role in roles:
        role_scope = scope if role in ("clerk", "operator") else None
        if role_scope is not None:
            kind = "office" if role == "clerk" else "organisation"
            if role_scope not in {key for key, _name in city.scopes(kind)}:
                raise ValueError(f"unknown {kind} {role_scope!r} for role {role} (see city.toml)")
        role_scopes.append((role, role_scope))
    try:
        async with session_factory(engine)() as session:
            try:
                await create_user(
                    session,
                    email=email,
                    password=password,
                    now=SystemClock().now(),
                    display_name=display_name,
                    roles=tuple(role_scopes),
                    verified=True,
                    must_change_password=True,
                )
            except AccountError as exc:
                raise ValueError(exc.message) from None
            await session.commit()
    finally:
        await engine.dispose()
    return password
