"""Server-side sessions that cost nothing for anonymous visitors.

Litestar's backend writes a session row and sets a cookie on every response, even for visitors who
never log in. This backend writes only when the session data changed, and sets no cookie for an empty
session that never existed.
"""

from __future__ import annotations

from typing import Any, cast

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import Empty, Message, ScopeSession

_LOADED = "_stadtkern_session_loaded"


def _scope_of(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    """The ASGI scope as the plain dict it is (its TypedDict type has no room for our own key)."""
    return cast(dict[str, Any], connection.scope)


class LeanSessionBackend(ServerSideSessionBackend):
    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        if self.config.key not in connection.cookies:
            # No cookie, no session: skip minting an id (a syscall for random bytes) and the store lookup.
            _scope_of(connection)[_LOADED] = {}
            return {}
        data = await super().load_from_connection(connection)
        _scope_of(connection)[_LOADED] = dict(data)
        return data

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        if self.config.key not in connection.cookies and not connection.scope.get("session"):
            return ""  # an id is minted only when there is something to store under it
        return super().get_session_id(connection)

    async def store_in_message(
        self, scope_session: ScopeSession, message: Message, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> None:
        loaded = connection.scope.get(_LOADED)
        had_cookie = self.config.key in connection.cookies
        if not scope_session or scope_session is Empty:
            if had_cookie:
                await super().store_in_message(Empty, message, connection)
            return
        if had_cookie and loaded == scope_session:
            return  # unchanged; the store already extended its expiry on read
        await super().store_in_message(scope_session, message, connection)


class LeanSessionConfig(ServerSideSessionConfig):
    _backend_class = LeanSessionBackend
