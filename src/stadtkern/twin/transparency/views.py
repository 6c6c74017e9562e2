"""Pages of the transparency register (no login): ``/transparenz`` and ``/transparenz/<type_key>``, plus the
map's data (``/transparenz/daten/sensoren.geojson``, ``/transparenz/daten/bezirke.geojson``).

The list of sensors works without JavaScript (a GET form to filter, links to page); the map is an
enhancement over the same data (``static/transparenz.js``: Leaflet over the city's own district shapes, no
tiles, markers clustered).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Template
from litestar.static_files import create_static_files_router

from stadtkern.contracts import AssetType
from stadtkern.core.i18n import gettext as _
from stadtkern.core.i18n import ngettext
from stadtkern.twin.opendata.disclosure import MIN_PUBLIC_COUNT
from stadtkern.twin.profile import load_twin_profile
from stadtkern.twin.registry import asset_types
from stadtkern.twin.transparency import services
from stadtkern.web.runtime import Runtime, runtime_of
from stadtkern.web.templating import render

AnyRequest = Request[Any, Any, Any]
STATIC = Path(__file__).resolve().parent / "static"
GEOJSON = "application/geo+json"


def _types(rt: Runtime) -> dict[str, AssetType]:
    return asset_types(rt.pm)


def retention_label(days: int | None) -> str:
    """How long data is kept, in words (from the enforced number of days)."""
    if days is None:
        return _("keine Löschfrist eingestellt: die Daten werden nicht automatisch gelöscht")
    if days % 365 == 0:
        years = days // 365
        return ngettext("%(num)s Jahr (%(days)s Tage)", "%(num)s Jahre (%(days)s Tage)", years, days=days)
    return ngettext("%(num)s Tag", "%(num)s Tage", days)


def access_label(level: str) -> str:
    return {
        "public": _("öffentlich: alle dürfen die Messwerte sehen"),
        "internal": _("nur Mitarbeitende der Stadt und ihrer Betriebe"),
        "personal": _(
            "nur die Eigentümerin oder der Eigentümer des Anschlusses und befugte Mitarbeitende des "
            "Betreibers; jeder Zugriff von Mitarbeitenden wird protokolliert"
        ),
    }.get(level, level)


def interval_label(minutes: float | None) -> str:
    if minutes is None:
        return _("Momentanwert")
    if minutes >= 1440:
        return ngettext("je %(num)s Tag", "je %(num)s Tage", int(minutes // 1440))
    return _("je %(minutes)s Minuten", minutes=int(minutes))


def _helpers() -> dict[str, Any]:
    return {
        "retention_label": retention_label,
        "access_label": access_label,
        "interval_label": interval_label,
        "min_count": MIN_PUBLIC_COUNT,
    }


async def _kinds(rt: Runtime) -> list[services.SensorKind]:
    async with rt.sessions() as session:
        return await services.sensor_kinds(session, _types(rt), rt.city)


def _int(value: str | None, name: str, errors: dict[str, str]) -> int:
    if not value:
        return 1
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        errors[name] = _("Die Seite muss eine ganze Zahl ab 1 sein, nicht „%(value)s“.", value=value)
        return 1
    return number


@get("/transparenz", include_in_schema=False, name="transparency")
async def register(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    twin = load_twin_profile(rt.city)
    kinds = await _kinds(rt)
    listed = services.listed_type_keys(kinds)
    districts = {d.code: d.name for d in twin.stadtbezirke}
    params = request.query_params
    errors: dict[str, str] = {}
    art = (params.get("art") or "").strip()
    bezirk = (params.get("bezirk") or "").strip()
    if art and art not in listed:
        errors["art"] = _("Eine Sensorart „%(value)s“ steht nicht in der Liste.", value=art)
        art = ""
    if bezirk and bezirk not in districts:
        errors["bezirk"] = _("Einen Stadtbezirk „%(value)s“ gibt es nicht.", value=bezirk)
        bezirk = ""
    page_number = _int(params.get("seite"), "seite", errors)
    async with rt.sessions() as session:
        page = await services.asset_page(
            session, listed, type_key=art or None, district_code=bezirk or None, page=page_number
        )
    return await render(
        request,
        "transparency/register.html",
        status_code=400 if errors else 200,
        title=_("Transparenzregister der Sensoren"),
        kinds=kinds,
        by_key={kind.key: kind for kind in kinds},
        personal_kinds=[kind for kind in kinds if not kind.listed_individually],
        listed=[kind for kind in kinds if kind.listed_individually],
        districts=districts,
        organisations={org.key: org.name for org in rt.city.organisations},
        attribution=twin.attribution,
        licence=twin.licence,
        licence_url=twin.licence_url,
        page=page,
        filters={"art": art, "bezirk": bezirk},
        errors=errors,
        has_wifi="wifi_hotspot" in {kind.key for kind in kinds},
        **_helpers(),
    )


@get("/transparenz/daten/sensoren.geojson", include_in_schema=False, name="transparency-points")
async def points(request: AnyRequest) -> Response[bytes]:
    rt = runtime_of(request)
    kinds = await _kinds(rt)
    titles = {kind.key: str(kind.type.title) for kind in kinds}
    async with rt.sessions() as session:
        collection = await services.map_points(session, services.listed_type_keys(kinds), titles)
    return Response(msgspec.json.encode(collection), media_type=GEOJSON)


@get("/transparenz/daten/bezirke.geojson", include_in_schema=False, name="transparency-districts")
async def district_shapes(request: AnyRequest) -> Response[bytes]:
    rt = runtime_of(request)
    return Response(
        services.district_shapes_json(load_twin_profile(rt.city)),
        media_type=GEOJSON,
        headers={"Cache-Control": "public, max-age=3600"},
    )


@get("/transparenz/{type_key:str}", include_in_schema=False, name="transparency-kind")
async def kind_page(request: AnyRequest, type_key: FromPath[str]) -> Template:
    rt = runtime_of(request)
    kinds = await _kinds(rt)
    kind = next((k for k in kinds if k.key == type_key), None)
    if kind is None:
        raise HTTPException(
            status_code=404,
            detail=_("Eine Sensorart „%(key)s“ gibt es im Register nicht.", key=type_key),
        )
    twin = load_twin_profile(rt.city)
    return await render(
        request,
        "transparency/kind.html",
        title=str(kind.type.title),
        kind=kind,
        districts={d.code: d.name for d in twin.stadtbezirke},
        attribution=twin.attribution,
        **_helpers(),
    )


ROUTES: list[Any] = [
    register,
    points,
    district_shapes,
    kind_page,
    create_static_files_router(
        path="/static/transparenz",
        directories=[str(STATIC)],
        include_in_schema=False,
        name="transparency-static",
    ),
]
