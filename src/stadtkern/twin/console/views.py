"""Pages and JSON of the operator console (``/leitstelle``). Thin handlers: the rules are in services.py.

- ``/leitstelle``: the map (Leaflet, clustered, live) and next to it an accessible, paged list of the same
  filtered assets; the filter form works without JavaScript;
- ``/api/leitstelle/karte``: the map's GeoJSON; ``/leitstelle/bezirke.geojson``: the district shapes;
  ``/leitstelle/live``: state changes as server-sent events;
- ``/leitstelle/anlagen/<code>``: one asset with charts and tables of its Datastreams;
- ``/leitstelle/kennzahlen``: the KPI dashboard.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from litestar import Request, Response, get
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import ServerSentEvent, ServerSentEventMessage, Template
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler
from shapely.geometry import mapping

from stadtkern.contracts import AssetType
from stadtkern.core.i18n import current_locale
from stadtkern.core.i18n import gettext as _
from stadtkern.core.i18n import lazy_gettext as _l
from stadtkern.sensorthings.access import Viewer
from stadtkern.sensorthings.api import service_of
from stadtkern.twin.console import alerts_hook, live, services
from stadtkern.twin.console.state import STATES
from stadtkern.twin.profile import TwinProfile, load_twin_profile
from stadtkern.twin.registry import asset_types
from stadtkern.web.auth import current_user, login_required, role_required
from stadtkern.web.runtime import Runtime, runtime_of
from stadtkern.web.templating import render

AnyRequest = Request[Any, Any, Any]
STAFF = [role_required(*services.STAFF_ROLES)]
STATIC = Path(__file__).resolve().parent / "static"
PAGE_SIZE = 25
STATE_LABELS = {
    "ok": _l("in Betrieb"),
    "fault": _l("gestört"),
    "no_data": _l("keine Daten"),
    "off": _l("aus"),
}
_PROFILES: dict[Path, TwinProfile] = {}
_SHAPES: dict[Path, bytes] = {}
MAP_CACHE_SECONDS = 5.0
_MAP_CACHE: dict[tuple[frozenset[str] | None, services.MapFilter], tuple[float, list[services.MapAsset]]] = {}


def _profile(rt: Runtime) -> TwinProfile:
    """The twin profile, loaded once per process (reading the shapes takes about a second)."""
    key = rt.city.directory
    if key not in _PROFILES:
        _PROFILES[key] = load_twin_profile(rt.city)
    return _PROFILES[key]


async def _map_assets(
    rt: Runtime, viewer: services.ConsoleViewer, filters: services.MapFilter
) -> list[services.MapAsset]:
    """The map's assets, kept for ``MAP_CACHE_SECONDS``: the page and its GeoJSON request right after it
    (and several operators with the same view) share one computation. The live stream sends what changes."""
    key = (viewer.organisations, filters)
    now = time.monotonic()
    cached = _MAP_CACHE.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    async with rt.sessions() as session:
        assets = await services.map_assets(session, _types(rt), viewer, filters, now=rt.clock.now())
    if len(_MAP_CACHE) >= 64:
        _MAP_CACHE.clear()
    _MAP_CACHE[key] = (now + MAP_CACHE_SECONDS, assets)
    return assets


def _types(rt: Runtime) -> dict[str, AssetType]:
    return asset_types(rt.pm)


def _http(exc: services.ConsoleError) -> HTTPException:
    return HTTPException(status_code=exc.status_code, detail=exc.message)


def _number(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return str(format_decimal(value, format=pattern, locale=current_locale()))


def _filters(request: AnyRequest, rt: Runtime) -> services.MapFilter:
    profile = _profile(rt)
    try:
        return services.parse_filter(
            _types(rt),
            [d.code for d in profile.stadtbezirke],
            request.query_params.getall("typ", []),
            request.query_params.get("bezirk"),
        )
    except services.ConsoleError as exc:
        raise _http(exc) from exc


def _filter_query(filters: services.MapFilter) -> str:
    pairs = [("typ", key) for key in sorted(filters.type_keys or ())]
    if filters.district:
        pairs.append(("bezirk", filters.district))
    return urlencode(pairs)


async def _viewer(request: AnyRequest) -> services.ConsoleViewer:
    return services.ConsoleViewer.of(await current_user(request))


@get("/leitstelle", guards=STAFF, include_in_schema=False, name="console-map")
async def map_page(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    filters = _filters(request, rt)
    profile = _profile(rt)
    types = _types(rt)
    try:
        page = max(1, int(request.query_params.get("seite", "1")))
    except ValueError:
        raise HTTPException(status_code=400, detail=_("Die Seite muss eine ganze Zahl sein.")) from None
    assets = await _map_assets(rt, await _viewer(request), filters)
    pages = max(1, math.ceil(len(assets) / PAGE_SIZE))
    page = min(page, pages)
    counts = {state: sum(1 for a in assets if a.state == state) for state in STATES}
    query = _filter_query(filters)
    districts = {d.code: d.name for d in profile.stadtbezirke}
    settings = {
        "api": "/api/leitstelle/karte" + (f"?{query}" if query else ""),
        "live": "/leitstelle/live" + (f"?{query}" if query else ""),
        "districts": "/leitstelle/bezirke.geojson",
        "tileUrl": rt.settings.tile_url or "",
        "attribution": profile.attribution,
        "center": [rt.city.city.center[1], rt.city.city.center[0]],
        "states": {key: str(label) for key, label in STATE_LABELS.items()},
        "types": {key: str(t.title) for key, t in types.items()},
        "open": _("Anlage öffnen"),
        "meterLabel": _("Haushaltszähler"),
        "liveChanged": _("Live: %(n)s Anlagen haben ihren Zustand geändert."),
        "assetBase": "/leitstelle/anlagen/",
    }
    return await render(
        request,
        "console/map.html",
        title=_("Leitstelle: Karte"),
        filters=filters,
        types=sorted(services.map_types(types).values(), key=lambda t: str(t.title)),
        all_types=types,
        districts=districts,
        assets=assets[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        total=len(assets),
        counts=counts,
        page=page,
        pages=pages,
        page_size=PAGE_SIZE,
        query=query,
        state_labels=STATE_LABELS,
        settings_json=json.dumps(settings),
        api_url=settings["api"],
        attribution=profile.attribution,
        number=_number,
    )


@get("/api/leitstelle/karte", guards=STAFF, name="console-map-api", summary="Assets of the operator map")
async def map_api(request: AnyRequest) -> Response[Any]:
    """GeoJSON FeatureCollection of the assets the operator may see, with state; filters ``typ`` (repeatable)
    and ``bezirk``. Household meters only as counts and sums per Stadtbezirk (``householdMeters``)."""
    rt = runtime_of(request)
    filters = _filters(request, rt)
    types = _types(rt)
    viewer = await _viewer(request)
    now = rt.clock.now()
    assets = await _map_assets(rt, viewer, filters)
    async with rt.sessions() as session:
        meters = await services.meter_districts(session, types, viewer, now=now, district=filters.district)
    return Response(
        services.feature_collection(assets, meters),
        media_type="application/geo+json",
        headers={"Cache-Control": "no-store"},
    )


@get("/leitstelle/bezirke.geojson", guards=STAFF, include_in_schema=False, name="console-districts")
async def district_shapes(request: AnyRequest) -> Response[bytes]:
    """The Stadtbezirke's shapes from the city profile (ODbL, © OpenStreetMap contributors)."""
    rt = runtime_of(request)
    key = rt.city.directory
    if key not in _SHAPES:
        profile = _profile(rt)
        collection = {
            "type": "FeatureCollection",
            "attribution": profile.attribution,
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": d.code, "name": d.name},
                    "geometry": mapping(d.area.geometry.simplify(0.0002)),
                }
                for d in profile.stadtbezirke
            ],
        }
        _SHAPES[key] = json.dumps(collection, separators=(",", ":")).encode()
    return Response(
        _SHAPES[key], media_type="application/geo+json", headers={"Cache-Control": "private, max-age=3600"}
    )


@get("/leitstelle/live", guards=STAFF, include_in_schema=False, name="console-live")
async def live_states(request: AnyRequest) -> ServerSentEvent:
    rt = runtime_of(request)
    filters = _filters(request, rt)
    viewer = await _viewer(request)
    bus = request.app.state.get("sta_events")

    async def messages() -> Any:
        async for item in live.state_changes(rt.sessions, rt.clock, bus, _types(rt), viewer, filters):
            if "comment" in item:
                yield ServerSentEventMessage(comment=item["comment"])
            else:
                yield ServerSentEventMessage(data=item["data"], event=item["event"], retry=item.get("retry"))

    return ServerSentEvent(messages(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@get("/leitstelle/anlagen/{code:str}", guards=[login_required], include_in_schema=False, name="console-asset")
async def asset_page(request: AnyRequest, code: FromPath[str]) -> Template:
    rt = runtime_of(request)
    user = await current_user(request)
    types = _types(rt)
    now = rt.clock.now()
    try:
        chosen = services.parse_range(request.query_params.get("bereich"))
        async with rt.sessions() as session:
            detail = await services.asset_detail(
                session, types, services.ConsoleViewer.of(user), code, now=now, reader=user
            )
            await session.commit()  # the audit entry of a staff read of a household meter
            alerts = await alerts_hook.alerts_for_asset(session, code, enabled=rt.pm.has_plugin("alerts"))
    except services.ConsoleError as exc:
        raise _http(exc) from exc
    series = await services.asset_series(service_of(request), Viewer.of(user), detail, chosen, now=now)
    tz = ZoneInfo(rt.city.city.timezone)
    chart_data = [
        {
            "id": f"reihe-{s.info.key}",
            "label": str(s.info.stream.name),
            "unit": s.info.stream.unit.symbol,
            "times": [int(p.start.timestamp()) for p in s.points],
            "values": [p.value for p in s.points],
        }
        for s in series
    ]
    profile = _profile(rt)
    district = next((d.name for d in profile.stadtbezirke if d.code == detail.district_code), "")
    organisation = rt.city.organisation(detail.organisation)
    return await render(
        request,
        "console/asset.html",
        title=detail.name,
        detail=detail,
        district=district,
        organisation=organisation.name if organisation else detail.organisation,
        state_label=STATE_LABELS.get(detail.state, detail.state),
        series=series,
        chosen=chosen,
        ranges=services.RANGES,
        chart_json=json.dumps(chart_data),
        alerts=alerts,
        tz=tz,
        number=_number,
        is_staff=services.ConsoleViewer.of(user).staff,
    )


@get("/leitstelle/kennzahlen", guards=STAFF, include_in_schema=False, name="console-dashboard")
async def dashboard_page(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    tz = ZoneInfo(rt.city.city.timezone)
    async with rt.sessions() as session:
        board = await services.dashboard(
            session, _types(rt), await _viewer(request), now=rt.clock.now(), timezone=tz
        )
    profile = _profile(rt)
    return await render(
        request,
        "console/dashboard.html",
        title=_("Leitstelle: Kennzahlen"),
        board=board,
        districts={d.code: d.name for d in profile.stadtbezirke},
        state_labels=STATE_LABELS,
        login_target=services.WIFI_LOGINS_PER_MONTH,
        tb_target=services.WIFI_TB_PER_MONTH,
        waste_due_percent=services.WASTE_DUE_PERCENT,
        min_group=services.MIN_GROUP,
        now_local=rt.clock.now(),
        tz=tz,
        number=_number,
    )


ROUTES: list[ControllerRouterHandler] = [
    map_page,
    map_api,
    district_shapes,
    live_states,
    asset_page,
    dashboard_page,
    create_static_files_router(
        path="/static/leitstelle", directories=[str(STATIC)], include_in_schema=False, name="console-static"
    ),
]
