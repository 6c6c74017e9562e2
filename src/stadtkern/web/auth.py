"""Who is logged in, and the guards that protect routes by login and role."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import select

from stadtkern.core.accounts.models import User
from stadtkern.core.i18n import gettext as _
from stadtkern.web.runtime import runtime_of

Connection = ASGIConnection[Any, Any, Any, Any]
_MISSING = object()


async def current_user(connection: Connection) -> User | None:
    """The fully logged-in user of this request (password and, where required, second factor)."""
    cached = connection.state.get("user", _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[no-any-return]
    user = await _load(connection, "uid")
    connection.state["user"] = user
    return user


async def pending_two_factor_user(connection: Connection) -> User | None:
    """A user who gave the right password and still owes the second factor."""
    return await _load(connection, "pending_uid")


async def _load(connection: Connection, key: str) -> User | None:
    if "session" not in connection.scope:
        return None
    data = connection.session
    uid = data.get(key) if data else None
    if not isinstance(uid, int):
        return None
    async with runtime_of(connection).sessions() as session:
        user = await session.scalar(select(User).where(User.id == uid))
    if user is None or not user.is_active or user.deleted_at is not None:
        return None
    if data.get("epoch") != user.session_epoch:
        return None
    return user


async def login_required(connection: Connection, _handler: BaseRouteHandler) -> None:
    user = await current_user(connection)
    if user is None:
        raise NotAuthorizedException(_("Bitte melden Sie sich an."))


def role_required(*roles: str) -> Any:
    """A guard: the user must hold at least one of ``roles``."""

    async def guard(connection: Connection, _handler: BaseRouteHandler) -> None:
        user = await current_user(connection)
        if user is None:
            raise NotAuthorizedException(_("Bitte melden Sie sich an."))
        if not user.role_names() & set(roles):
            raise PermissionDeniedException(_("Für diese Seite fehlt Ihnen die Berechtigung."))

    guard.__name__ = f"role_required_{'_'.join(roles)}"
    guard.required_roles = frozenset(roles)  # type: ignore[attr-defined]
    return guard
