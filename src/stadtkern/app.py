"""The Litestar application factory: collects routes, templates and models from the enabled modules."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import sys
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

from litestar import Litestar, Request, get
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Response
from litestar.template import TemplateConfig
from sqlalchemy import text

from stadtkern import __version__
from stadtkern.config import Settings, load_settings
from stadtkern.core.city import load_city
from stadtkern.core.clock import Clock, SystemClock
from stadtkern.core.jobs.runner import JobRunner
from stadtkern.db.engine import create_engine, session_factory
from stadtkern.modules import collect, plugin_manager
from stadtkern.web.assets import static_routes
from stadtkern.web.errors import EXCEPTION_HANDLERS
from stadtkern.web.locale import LocaleMiddleware
from stadtkern.web.runtime import Runtime
from stadtkern.web.security import SecurityHeadersMiddleware, security_headers
from stadtkern.web.session_store import DatabaseSessionStore
from stadtkern.web.sessions import LeanSessionConfig
from stadtkern.web.templating import create_environment

log = logging.getLogger("stadtkern")

SESSION_COOKIE = "stadtkern_session"
SESSION_MAX_AGE = 8 * 3600
# Paths whose clients authenticate with keys, not cookies (no CSRF token to send).
CSRF_EXEMPT = ["/sta/", "/healthz"]


@get("/healthz", include_in_schema=True, tags=["system"], opt={"public": True})
async def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Liveness and database status, for load balancers and monitoring."""
    rt: Runtime = request.app.state.runtime
    database = "ok"
    try:
        async with asyncio.timeout(3):
            async with rt.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except Exception as exc:
        database = f"error: {type(exc).__name__}"
    body = {
        "status": "ok" if database == "ok" else "degraded",
        "version": __version__,
        "database": database,
        "database_backend": rt.engine.dialect.name,
        "city": rt.city.city.slug,
    }
    return Response(body, status_code=200 if database == "ok" else 503)


@get("/api/openapi.json", include_in_schema=False, tags=["system"])
async def openapi_document(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """The OpenAPI 3.1 description of our JSON APIs."""
    return Response(request.app.openapi_schema.to_schema(), media_type="application/vnd.oai.openapi+json")


def create_app(
    settings: Settings | None = None,
    clock: Clock | None = None,
    extra_plugins: Iterable[object] = (),
    run_jobs: bool | None = None,
    mqtt: bool | int | Literal["bus"] = False,
) -> Litestar:
    """Build the app. ``run_jobs`` overrides ``STADTKERN_EMBEDDED_WORKER`` (tests drive jobs by hand).

    ``mqtt``: serve the SensorThings MQTT endpoint in the lifespan (True: on STADTKERN_MQTT_PORT, an int:
    on that port, 0 for any free one; ``"bus"``: no endpoint, but events go to the Mosquitto bus for the
    process that serves it). Off by default so that building an app never binds a port.
    """
    settings = settings or load_settings()
    clock = clock or SystemClock()
    city = load_city(settings.city_dir)
    pm = plugin_manager(city.modules.enabled, extra_plugins)
    hook: Any = pm.hook
    collect(hook.stadtkern_models())  # importing the models registers their tables
    engine = create_engine(settings.database_url)
    runtime = Runtime.build(settings, engine, session_factory(engine), pm, city, clock)
    embedded_worker = settings.embedded_worker if run_jobs is None else run_jobs

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        runner: JobRunner | None = None
        task: asyncio.Task[None] | None = None
        if embedded_worker:
            runner = JobRunner(runtime)
            app.state.job_runner = runner
            task = asyncio.create_task(runner.run_forever(), name="stadtkern-jobs")
        live = contextlib.AsyncExitStack()
        if mqtt is not False and pm.has_plugin("sensorthings"):
            from stadtkern.sensorthings.plugin import live_lifespan

            if mqtt == "bus":
                await live.enter_async_context(live_lifespan(app, runtime, endpoint=False))
            else:
                port = None if mqtt is True else int(mqtt)
                await live.enter_async_context(live_lifespan(app, runtime, port=port))
        for module_lifespan in collect(hook.stadtkern_lifespans()):
            await live.enter_async_context(module_lifespan(app, runtime))
        try:
            yield
        finally:
            await live.aclose()
            if runner is not None and task is not None:
                runner.stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=15)
            await engine.dispose()

    environment = create_environment(collect(hook.stadtkern_template_dirs()))
    key_material = hashlib.sha256(b"csrf:" + settings.secret_key.encode()).hexdigest()
    session_config = LeanSessionConfig(
        key=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        secure=settings.production,
        httponly=True,
        samesite="lax",
        renew_on_access=True,
        exclude=["/static/", "/healthz"],
    )
    app = Litestar(
        route_handlers=[healthz, openapi_document, *collect(hook.stadtkern_routes()), *static_routes()],
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(environment)),
        csrf_config=CSRFConfig(
            secret=key_material,
            cookie_name="stadtkern_csrf",
            cookie_secure=settings.production,
            cookie_httponly=True,
            exclude=CSRF_EXEMPT,
        ),
        middleware=[
            DefineMiddleware(SecurityHeadersMiddleware, headers=security_headers(settings)),
            DefineMiddleware(LocaleMiddleware),
            session_config.middleware,
        ],
        stores={"sessions": DatabaseSessionStore(runtime.sessions, clock)},
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="Stadtkern API",
            version=__version__,
            # Litestar's own schema routes stay internal; /api/openapi.json is served above so that
            # every other /api/* path gets our JSON 404.
            path="/_schema",
            render_plugins=[JsonRenderPlugin()],
            description="JSON APIs of Stadtkern. Errors use one shape: "
            '{"error": {"code", "message", "details"}}.',
        ),
        lifespan=[lifespan],
        debug=False,
        request_max_body_size=20 * 1024 * 1024,
    )
    app.state.runtime = runtime
    runtime.templates = environment
    if pm.has_plugin("sensorthings"):
        from stadtkern.sensorthings.lane import ObservationPostLane

        # Single-Observation POSTs skip the framework's routing and middleware (sensorthings/lane.py).
        app.asgi_handler = ObservationPostLane(app.asgi_handler, app.state, security_headers(settings))
    return app


def app_from_env() -> Litestar:
    """Entry point for Granian (``stadtkern.app:app_from_env`` with ``--factory``)."""
    # Database drivers answer from their own threads (aiosqlite) and Granian's I/O runs in Rust threads:
    # every hand-over waits for the GIL. Python's default switch interval (5 ms) then dominates a request
    # of a few short queries; a shorter interval hands over quickly (measured in docs/benchmarks.md).
    sys.setswitchinterval(0.0005)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    app = create_app(settings, mqtt=True if settings.mqtt_in_http else "bus")
    # Everything built so far (modules, routes, table metadata) lives as long as the process. Frozen, the
    # collector's full passes no longer walk it: they were the 50-60 ms stalls behind the p95 of large
    # answers (measured in docs/benchmarks.md). Only here, in the served process: tests build many apps.
    gc.collect()
    gc.freeze()
    return app
