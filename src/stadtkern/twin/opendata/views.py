"""Open-data pages and downloads (no login): ``/opendata``, ``/opendata/catalog.jsonld`` and
``/opendata/<dataset>/<YYYY-MM|standorte>.<csv|geojson|parquet>``.

Handlers stay thin: what is published is decided in ``services`` (public, non-personal Datastreams only),
how it is encoded in ``formats``. A download is checked completely (dataset, month, format) before its
first byte is sent, so a bad request gets a clear 400/404 and never a broken file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, get
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Stream, Template

from stadtkern.contracts import AssetType
from stadtkern.core.i18n import gettext as _
from stadtkern.twin.opendata import catalog, formats, services
from stadtkern.twin.opendata.disclosure import MIN_PUBLIC_COUNT
from stadtkern.twin.opendata.profile import load_catalog_profile
from stadtkern.twin.profile import load_twin_profile
from stadtkern.twin.registry import asset_types
from stadtkern.web.runtime import Runtime, runtime_of
from stadtkern.web.templating import render

AnyRequest = Request[Any, Any, Any]
SITES = "standorte"
FORMAT_LABELS = {"csv": "CSV", "geojson": "GeoJSON", "parquet": "Parquet"}


def _types(rt: Runtime) -> dict[str, AssetType]:
    return asset_types(rt.pm)


def _zone(rt: Runtime) -> ZoneInfo:
    return ZoneInfo(rt.city.city.timezone)


def _formats() -> list[str]:
    return ["csv", "geojson", *(["parquet"] if formats.parquet_available() else [])]


async def _datasets(rt: Runtime) -> list[services.Dataset]:
    async with rt.sessions() as session:
        return await services.datasets(session, _types(rt), now=rt.clock.now(), zone=_zone(rt))


def _fail(exc: services.OpenDataError) -> HTTPException:
    return HTTPException(status_code=exc.status, detail=exc.message)


@get("/opendata", include_in_schema=False, name="opendata")
async def catalogue_page(request: AnyRequest) -> Template:
    rt = runtime_of(request)
    found = await _datasets(rt)
    profile = load_catalog_profile(rt.city)
    return await render(
        request,
        "opendata/catalogue.html",
        title=_("Offene Daten"),
        datasets=sorted(found, key=lambda dataset: str(dataset.type.title)),
        formats=_formats(),
        format_labels=FORMAT_LABELS,
        listed_months=services.LISTED_MONTHS,
        min_count=MIN_PUBLIC_COUNT,
        profile=profile,
        shapes_attribution=load_twin_profile(rt.city).attribution,
    )


@get("/opendata/catalog.jsonld", include_in_schema=False, name="opendata-catalog")
async def catalogue_jsonld(request: AnyRequest) -> Response[bytes]:
    rt = runtime_of(request)
    document = catalog.catalog_document(
        await _datasets(rt),
        base=str(request.base_url).rstrip("/"),
        city=rt.city,
        profile=load_catalog_profile(rt.city),
        formats=_formats(),
        shapes_attribution=load_twin_profile(rt.city).attribution,
        now=rt.clock.now(),
    )
    return Response(msgspec.json.encode(document), media_type="application/ld+json")


@get("/opendata/{dataset:str}/{filename:str}", include_in_schema=False, name="opendata-download")
async def download(request: AnyRequest, dataset: FromPath[str], filename: FromPath[str]) -> Response[Any]:
    rt = runtime_of(request)
    name, _dot, fmt = filename.rpartition(".")
    if not name or fmt not in formats.MEDIA_TYPES:
        raise HTTPException(
            status_code=400,
            detail=_(
                "„%(file)s“ ist keine Datei dieses Datensatzes: erwartet wird JJJJ-MM oder standorte mit der "
                "Endung .csv, .geojson oder .parquet.",
                file=filename,
            ),
        )
    if fmt == "parquet" and not formats.parquet_available():
        raise HTTPException(
            status_code=404, detail=_("Parquet ist auf diesem Server nicht verfügbar (pyarrow fehlt).")
        )
    try:
        chosen = services.find_dataset(await _datasets(rt), dataset)
        bounds = None if name == SITES else services.check_month(chosen, name, _zone(rt))
    except services.OpenDataError as exc:
        raise _fail(exc) from None
    attribution = load_twin_profile(rt.city).attribution
    headers = {"Content-Disposition": f'attachment; filename="{rt.city.city.slug}-{chosen.key}-{filename}"'}
    media_type = formats.MEDIA_TYPES[fmt]
    if bounds is None:
        organisations = {org.key: org.name for org in rt.city.organisations}
        async with rt.sessions() as session:
            sites = await services.read_sites(session, chosen, organisations)
        body = {
            "csv": lambda: formats.sites_csv(sites),
            "geojson": lambda: formats.sites_geojson(sites, attribution),
            "parquet": lambda: formats.sites_parquet(sites),
        }[fmt]()
        return Response(body, media_type=media_type, headers=headers)
    start, end = bounds

    async def blocks() -> AsyncIterator[list[services.Reading]]:
        # The session lives as long as the response streams.
        async with rt.sessions() as session:
            async for block in services.read_month(session, chosen, start, end):
                yield block

    content: AsyncIterator[bytes]
    if fmt == "csv":
        content = formats.readings_csv(blocks())
    elif fmt == "geojson":
        content = formats.readings_geojson(blocks(), attribution)
    else:
        content = formats.readings_parquet(blocks())
    return Stream(content, media_type=media_type, headers=headers)


ROUTES: list[Any] = [catalogue_page, catalogue_jsonld, download]
