"""The fast lane for the commonest write of all: one Observation POSTed to its Datastream.

``POST /sta/v1.1/Datastreams(<id>)/Observations`` is what every small sensor sends, thousands of times a
second across a city. Through the framework such a request costs about four times the ASGI minimum (routing,
the middleware stack, request and response objects) and on two cores that, not the database, capped single
POSTs (docs/decisions/0006). This ASGI layer sits in front of the framework's router and answers exactly
that request itself with the same service call, the same key check, the same error bodies and the same
security headers as the framework route in ``api.py``. Anything else (another path or method, a query
string, a body without a declared length or a large one) passes on to the framework untouched.
"""

from __future__ import annotations

import re
from typing import Any, cast

import msgspec
from litestar.types import ASGIApp, Receive, Scope, Send

from stadtkern.sensorthings.api import (
    VERSION_PATH,
    decode_body,
    error_parts,
    grant_for,
    service_for,
)
from stadtkern.web.runtime import Runtime

OBSERVATION_POST = re.compile(re.escape(VERSION_PATH) + r"/(Datastreams\(\d+\)/Observations)")
# A single Observation is a few hundred bytes; larger bodies are not what this lane is for.
MAX_BODY = 64 * 1024


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


class ObservationPostLane:
    """ASGI wrapper: single-Observation POSTs answered here, all else by ``app``."""

    def __init__(self, app: ASGIApp, state: Any, security_headers: dict[str, str]) -> None:
        self.app = app
        self.state = state  # the framework app's state: runtime and SensorThings service
        self.security = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in security_headers.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handle(cast(dict[str, Any], scope), receive, send)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("query_string"):
            match = OBSERVATION_POST.fullmatch(scope["path"])
        length = _header(scope.get("headers", []), b"content-length") if match else None
        if match is None or length is None or not length.isdigit() or int(length) > MAX_BODY:
            await self.app(cast(Scope, scope), receive, send)
            return
        body = await self._body(receive)
        if body is None:  # the client went away
            return
        await self._create(scope, match.group(1), body, send)

    @staticmethod
    async def _body(receive: Any) -> bytes | None:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _create(self, scope: dict[str, Any], path: str, body: bytes, send: Any) -> None:
        runtime: Runtime = self.state.runtime
        service = service_for(self.state, runtime)
        try:
            authorization = _header(scope["headers"], b"authorization") or b""
            grant = await grant_for(authorization.decode("latin-1"), runtime, service)
            created = await service.create(
                path, decode_body(body), grant=grant, base_url=self._base_url(scope, runtime)
            )
        except Exception as exc:  # answered as the framework route answers it (api.error_parts)
            status, error, extra = error_parts(exc)
            payload = msgspec.json.encode(error)
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ]
            headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (extra or {}).items()]
            await self._send(send, status, headers, payload)
            return
        await self._send(
            send, 201, [(b"location", created.location.encode()), (b"content-length", b"0")], b""
        )

    async def _send(self, send: Any, status: int, headers: list[tuple[bytes, bytes]], payload: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": [*headers, *self.security]})
        await send({"type": "http.response.body", "body": payload})

    @staticmethod
    def _base_url(scope: dict[str, Any], runtime: Runtime) -> str:
        """As ``api.base_url``: the configured public URL, else what the request was sent to."""
        if runtime.settings.public_url:
            return runtime.settings.public_url + VERSION_PATH
        host = _header(scope["headers"], b"host")
        if host is None:
            server_host, port = scope.get("server") or ("localhost", None)
            host = (server_host if port is None else f"{server_host}:{port}").encode()
        return f"{scope.get('scheme', 'http')}://{host.decode('latin-1')}{scope.get('root_path', '')}{VERSION_PATH}"
