"""Every guarded route against every role: anonymous, citizen, clerk, operator, admin.

The routes are read from the running app, so a new page with a guard is covered without editing this test.
Anonymous visitors must be sent to the login (GET) or refused (401); a logged-in user without one of the
route's roles gets 403; a user with a required role gets through the guard (any status but 401/403).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from stadtkern.web.auth import login_required
from stadtkern.web.runtime import Runtime
from tests.support.accounts import login_as, logout, make_user
from tests.support.web import csrf_token

ROLES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "citizen": (("citizen", None),),
    "clerk": (("clerk", "bs-mitte"),),
    "operator": (("operator", "dvv"),),
    "admin": (("admin", None),),
}
PARAM_RE = re.compile(r"\{(\w+)(?::(\w+))?\}")


@dataclass(frozen=True)
class GuardedRoute:
    method: str
    path: str
    roles: frozenset[str] | None  # None: any logged-in user


def guarded_routes(app: Litestar) -> list[GuardedRoute]:
    found: list[GuardedRoute] = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            guards = handler.resolve_guards()
            if not guards:
                continue
            roles: set[str] | None = None
            for guard in guards:
                required = getattr(guard, "required_roles", None)
                if required is not None:
                    roles = set(required) if roles is None else roles & set(required)
                else:
                    assert guard is login_required, f"unknown guard {guard} on {route.path}"
            for method in sorted(handler.http_methods - {"HEAD", "OPTIONS"}):
                found.append(
                    GuardedRoute(method, route.path, frozenset(roles) if roles is not None else None)
                )
    return found


def concrete(path: str) -> str:
    """Fill path parameters with plausible values (the guard runs before any lookup)."""

    def value(match: re.Match[str]) -> str:
        return "1" if match.group(2) == "int" else "beispiel"

    return PARAM_RE.sub(value, path)


async def request(client: AsyncTestClient[Any], route: GuardedRoute, token: str) -> int:
    path = concrete(route.path)
    if route.method == "GET":
        response = await client.get(path, follow_redirects=False)
    else:
        response = await client.request(
            route.method, path, data={"_csrf_token": token}, follow_redirects=False
        )
    return response.status_code


async def test_every_guarded_route_against_every_role(
    app: Litestar, client: AsyncTestClient[Any], runtime: Runtime
) -> None:
    routes = guarded_routes(app)
    assert len(routes) >= 10, routes
    assert any(r.roles == frozenset({"admin"}) for r in routes)
    users = {
        name: await make_user(runtime, f"{name}@example.org", roles=roles) for name, roles in ROLES.items()
    }
    token = await csrf_token(client)
    failures: list[str] = []

    for route in routes:
        logout(client)
        status = await request(client, route, token)
        anonymous_ok = status == 401 or (
            route.method == "GET"
            and status in (302, 303)
            and "/konto/anmelden"
            in (await client.get(concrete(route.path), follow_redirects=False)).headers.get("location", "")
        )
        if not anonymous_ok:
            failures.append(f"anonymous {route.method} {route.path} -> {status}")

    for name, user in users.items():
        await login_as(client, runtime, user)
        for route in routes:
            allowed = route.roles is None or name in route.roles
            status = await request(client, route, token)
            if allowed and status in (401, 403):
                failures.append(f"{name} {route.method} {route.path} -> {status}, expected access")
            if not allowed and status != 403:
                failures.append(f"{name} {route.method} {route.path} -> {status}, expected 403")
            # Some routes end the session (logout, deletion): log in again for the next one.
            await login_as(client, runtime, user)

    assert failures == []
