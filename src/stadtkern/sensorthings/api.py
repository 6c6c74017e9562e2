"""The SensorThings HTTP API at ``/sta/v1.1``: thin handlers around the service.

Errors answer in the shape SensorThings clients read (FROST's): ``{"code", "type": "error", "message"}``.
Writes need ``Authorization: Bearer <key>``; reads see what the viewer may see (a logged-in session counts).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post, put
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from stadtkern.core.accounts.models import User
from stadtkern.sensorthings.access import Viewer, audit_personal_reads
from stadtkern.sensorthings.entities import BY_SET
from stadtkern.sensorthings.errors import Unauthorized, status_for
from stadtkern.sensorthings.keys import ANONYMOUS, KeyGrant, check_key, recently_checked
from stadtkern.sensorthings.service import SensorThingsService
from stadtkern.sensorthings.store.read import PropertyAnswer, ReadContext
from stadtkern.sensorthings.store.write import WriteError
from stadtkern.web.auth import current_user
from stadtkern.web.runtime import Runtime, runtime_of

VERSION_PATH = "/sta/v1.1"
CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/multi-datastream",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/batch-request/batch-request",
]
MQTT_CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates",
]
AnyRequest = Request[Any, Any, Any]
log = logging.getLogger("stadtkern.sensorthings")


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"code": status, "type": "error", "message": message}


def sta_error(status: int, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(error_body(status, message), status_code=status, headers=headers)


def service_for(state: Any, runtime: Runtime) -> SensorThingsService:
    """The app's service (the live side installs a publishing one); a plain one made once otherwise."""
    service: SensorThingsService | None = state.get("sensorthings")
    if service is None:
        service = SensorThingsService(runtime.sessions, runtime.clock, runtime.engine.dialect.name)
        state.sensorthings = service
    return service


def service_of(request: AnyRequest) -> SensorThingsService:
    return service_for(request.app.state, runtime_of(request))


def base_url(request: AnyRequest) -> str:
    rt = runtime_of(request)
    root = rt.settings.public_url or str(request.base_url).rstrip("/")
    return root + VERSION_PATH


async def viewer_of(request: AnyRequest) -> tuple[Viewer, User | None]:
    user = await current_user(request)
    return Viewer.of(user), user


async def grant_for(authorization: str, runtime: Runtime, service: SensorThingsService) -> KeyGrant:
    """The write grant of an ``Authorization`` header value ("" when absent)."""
    if authorization[:7].lower() == "bearer ":
        token = authorization[7:].strip()
        secret_key = runtime.settings.secret_key
        grant = recently_checked(token, secret_key=secret_key, recent=service.checked_keys)
        if grant is not None:
            return grant
        async with runtime.sessions() as session:
            grant = await check_key(
                session, token, secret_key=secret_key, now=runtime.clock.now(), recent=service.checked_keys
            )
        if grant is None:
            raise Unauthorized("the key is unknown or revoked")
        return grant
    if runtime.settings.sta_anonymous_write:
        return ANONYMOUS
    raise Unauthorized(
        "writing needs a key: send 'Authorization: Bearer <key>' (keys: stadtkern sta key create)"
    )


async def grant_of(request: AnyRequest) -> KeyGrant:
    return await grant_for(request.headers.get("authorization", ""), runtime_of(request), service_of(request))


def decode_body(raw: bytes) -> Any:
    if not raw.strip():
        raise WriteError("the request body is empty; send a JSON object")
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise WriteError(f"the body is not valid JSON: {exc}") from None


def _params(request: AnyRequest) -> dict[str, str]:
    return {key: value for key, value in request.query_params.items()}


@get("/sta/v1.1", include_in_schema=False, name="sta-root")
async def service_root(request: AnyRequest) -> Response[Any]:
    base = base_url(request)
    settings: dict[str, Any] = {"conformance": list(CONFORMANCE)}
    endpoint = request.app.state.get("mqtt_endpoint")
    if endpoint is not None:
        # The MQTT classes are claimed only while this process serves MQTT, with the address to use.
        host = urlsplit(base).hostname or "localhost"
        address = {"endpoints": [f"mqtt://{host}:{endpoint.port}"]}
        for uri in MQTT_CONFORMANCE:
            settings["conformance"].append(uri)
            settings[uri] = address
    return Response(
        {"value": [{"name": name, "url": f"{base}/{name}"} for name in BY_SET], "serverSettings": settings}
    )


@get("/sta/v1.1/{path:path}", include_in_schema=False, name="sta-read")
async def read_resource(request: AnyRequest, path: FromPath[str]) -> Response[Any]:
    viewer, user = await viewer_of(request)
    if path.strip("/").startswith("ext/"):
        extension, ext_ctx = await service_of(request).extension(
            path, _params(request), viewer=viewer, base_url=base_url(request)
        )
        if ext_ctx.personal_reads and user is not None:
            await _audit(request, user, ext_ctx)
        return Response(extension)
    _path, answer, ctx = await service_of(request).read(
        path,
        _params(request),
        viewer=viewer,
        base_url=base_url(request),
        query_string=request.url.query or "",
    )
    if ctx.personal_reads and user is not None:
        await _audit(request, user, ctx)
    if isinstance(answer, PropertyAnswer):
        name, value = answer.value
        if _path.value:
            if value is None:
                return Response(None, status_code=204)
            text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
            return Response(text, media_type="text/plain")
        if value is None:
            return Response(None, status_code=204)
        return Response({name: value})
    return Response(answer)


async def _audit(request: AnyRequest, user: User, ctx: ReadContext) -> None:
    rt = runtime_of(request)
    async with rt.sessions() as session:
        await audit_personal_reads(session, user, ctx.personal_reads, now=rt.clock.now())
        await session.commit()


@post("/sta/v1.1/{path:path}", include_in_schema=False, name="sta-create", status_code=HTTP_201_CREATED)
async def create_resource(request: AnyRequest, path: FromPath[str]) -> Response[Any]:
    grant = await grant_of(request)
    body = decode_body(await request.body())
    # Litestar matches the catch-all path before a static sibling route, so the two service endpoints
    # of the standard are dispatched here.
    if path.strip("/") == "CreateObservations":
        links = await service_of(request).create_observations(body, grant=grant, base_url=base_url(request))
        return Response(links, status_code=HTTP_201_CREATED)
    if path.strip("/") == "$batch":
        viewer, _user = await viewer_of(request)
        responses = await service_of(request).batch(
            body, grant=grant, viewer=viewer, base_url=base_url(request)
        )
        return Response({"responses": responses}, status_code=HTTP_200_OK)
    created = await service_of(request).create(path, body, grant=grant, base_url=base_url(request))
    return Response(b"", status_code=HTTP_201_CREATED, headers={"Location": created.location})


@patch("/sta/v1.1/{path:path}", include_in_schema=False, name="sta-patch", status_code=HTTP_200_OK)
async def patch_resource(request: AnyRequest, path: FromPath[str]) -> Response[Any]:
    grant = await grant_of(request)
    await service_of(request).update(path, decode_body(await request.body()), grant=grant, replace_all=False)
    return Response(b"", status_code=HTTP_200_OK)


@put("/sta/v1.1/{path:path}", include_in_schema=False, name="sta-put", status_code=HTTP_200_OK)
async def put_resource(request: AnyRequest, path: FromPath[str]) -> Response[Any]:
    grant = await grant_of(request)
    await service_of(request).update(path, decode_body(await request.body()), grant=grant, replace_all=True)
    return Response(b"", status_code=HTTP_200_OK)


@delete("/sta/v1.1/{path:path}", include_in_schema=False, name="sta-delete", status_code=HTTP_200_OK)
async def delete_resource(request: AnyRequest, path: FromPath[str]) -> Response[Any]:
    grant = await grant_of(request)
    await service_of(request).delete(path, grant=grant)
    return Response(b"", status_code=HTTP_200_OK)


def error_parts(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str] | None]:
    """Status, body and extra headers of the answer to an exception (unexpected ones are logged)."""
    status = status_for(exc)
    if status == 401:
        return 401, error_body(401, str(exc)), {"WWW-Authenticate": 'Bearer realm="stadtkern"'}
    if status is not None:
        return status, error_body(status, str(exc)), None
    if isinstance(exc, HTTPException):
        return exc.status_code, error_body(exc.status_code, str(exc.detail)), None
    log.exception("unexpected error", exc_info=exc)
    return 500, error_body(500, "internal error; it was logged"), None


def _handle(request: AnyRequest, exc: Exception) -> Response[Any]:
    status, body, headers = error_parts(exc)
    return Response(body, status_code=status, headers=headers)


ROUTER = Router(
    path="/",
    route_handlers=[
        service_root,
        read_resource,
        create_resource,
        patch_resource,
        put_resource,
        delete_resource,
    ],
    exception_handlers={Exception: _handle},
)
