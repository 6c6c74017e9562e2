"""Open data: the catalogue, its DCAT-AP.de description, downloads in three formats, small-count
suppression, clear errors, and personal data never anywhere in it."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
from litestar.testing import AsyncTestClient

from stadtkern.contracts import AssetType
from stadtkern.twin.opendata.disclosure import MIN_PUBLIC_COUNT
from stadtkern.twin.services import AssetRecord
from stadtkern.web.runtime import Runtime
from tests.twin.opendata.support import provision_small_city, write

# November 2026 in Duisburg starts at 2026-10-31T23:00Z and ends at 2026-11-30T23:00Z.
NOV_START = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
NOV_END = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
FORMATS = ("csv", "geojson", "parquet")


def rows_of(fmt: str, body: bytes) -> list[dict[str, Any]]:
    """Parse a download into rows of {time, asset, stream, value, suppressed}."""
    if fmt == "csv":
        return [
            {
                **row,
                "value": None if row["value"] == "" else float(row["value"]),
                "suppressed": row["suppressed"] == "true",
            }
            for row in csv.DictReader(io.StringIO(body.decode()))
        ]
    if fmt == "geojson":
        collection = json.loads(body)
        assert collection["type"] == "FeatureCollection"
        assert collection["attribution"] == "© OpenStreetMap contributors"
        return [
            {
                **f["properties"],
                "value": None if f["properties"]["value"] is None else float(f["properties"]["value"]),
            }
            for f in collection["features"]
        ]
    table = pq.read_table(io.BytesIO(body))
    return [{**row, "time": row["time"].isoformat().replace("+00:00", "Z")} for row in table.to_pylist()]


async def city_with_readings(runtime: Runtime, types: dict[str, AssetType]) -> dict[str, Any]:
    """A small city with readings in November (and one in October) on public and personal streams."""
    records = await provision_small_city(runtime, types)
    counters = [r for r in records if r.type_key == "traffic_counter"][:2]
    hotspot = next(r for r in records if r.type_key == "wifi_hotspot")
    meter = next(r for r in records if r.type_key == "household_meter")
    hour = timedelta(hours=1)
    traffic = {
        counters[0].code: [(NOV_START, 120), (NOV_START + hour, 80), (NOV_END - hour, 44)],
        counters[1].code: [(NOV_START + 2 * hour, 7)],
    }
    for counter in counters:
        await write(runtime, counter.datastreams["vehicles"], traffic[counter.code])
    # Logins: 0 is published, 1..4 suppressed, 5 and more published.
    logins = [(NOV_START + i * hour, value) for i, value in enumerate([0, 1, 3, 4, 5, 12])]
    await write(runtime, hotspot.datastreams["logins"], logins)
    await write(runtime, hotspot.datastreams["data_volume"], [(NOV_START, 1.25)])
    # October (just before November starts locally) belongs to the October file.
    await write(runtime, counters[0].datastreams["vehicles"], [(NOV_START - timedelta(minutes=15), 99)])
    # A personal stream with observations, in the same month.
    await write(
        runtime,
        meter.datastreams["energy"],
        [(NOV_START + i * timedelta(minutes=15), 137 + i) for i in range(96)],
    )
    return {"records": records, "counters": counters, "hotspot": hotspot, "meter": meter, "traffic": traffic}


async def test_downloads_hold_the_months_observations_in_every_format(
    client: AsyncTestClient[Any], runtime: Runtime, types: dict[str, AssetType]
) -> None:
    city = await city_with_readings(runtime, types)
    for fmt in FORMATS:
        response = await client.get(f"/opendata/traffic_counter/2026-11.{fmt}")
        assert response.status_code == 200, response.text
        assert "attachment" in response.headers["content-disposition"]
        rows = rows_of(fmt, response.content)
        got = sorted((r["asset"], r["stream"], r["time"], r["value"]) for r in rows)
        expected = sorted(
            (code, "vehicles", t.isoformat().replace("+00:00", "Z"), float(v))
            for code, readings in city["traffic"].items()
            for t, v in readings
        )
        assert got == expected, fmt
        assert not any(r["suppressed"] for r in rows)
        october = rows_of(fmt, (await client.get(f"/opendata/traffic_counter/2026-10.{fmt}")).content)
        assert [(r["asset"], r["value"]) for r in october] == [(city["counters"][0].code, 99.0)]
    assert (
        (await client.get("/opendata/traffic_counter/2026-11.csv"))
        .headers["content-type"]
        .startswith("text/csv")
    )


async def test_small_counts_are_suppressed_and_measurements_are_not(
    client: AsyncTestClient[Any], runtime: Runtime, types: dict[str, AssetType]
) -> None:
    await city_with_readings(runtime, types)
    assert MIN_PUBLIC_COUNT == 5
    for fmt in FORMATS:
        rows = rows_of(fmt, (await client.get(f"/opendata/wifi_hotspot/2026-11.{fmt}")).content)
        logins = sorted((r["time"], r["value"], r["suppressed"]) for r in rows if r["stream"] == "logins")
        assert [(value, hidden) for _, value, hidden in logins] == [
            (0.0, False),
            (None, True),
            (None, True),
            (None, True),
            (5.0, False),
            (12.0, False),
        ], fmt
        volume = [r for r in rows if r["stream"] == "data_volume"]
        assert [(r["value"], r["suppressed"]) for r in volume] == [(1.25, False)]
    page = (await client.get("/opendata")).text
    assert "Zählwerte von 1 bis 4" in page


async def test_personal_data_never_appears_in_open_data(
    client: AsyncTestClient[Any], runtime: Runtime, types: dict[str, AssetType]
) -> None:
    city = await city_with_readings(runtime, types)
    meters: list[AssetRecord] = [r for r in city["records"] if r.type_key == "household_meter"]
    meter_codes = {m.code for m in meters}
    page = await client.get("/opendata")
    assert page.status_code == 200
    catalog_response = await client.get("/opendata/catalog.jsonld")
    document = catalog_response.json()
    dataset_keys = {d["@id"].rsplit("#", 1)[1] for d in document["dcat:dataset"]}
    assert dataset_keys == set(types) - {"household_meter"}
    assert "household_meter" not in page.text
    assert "household_meter" not in catalog_response.text
    for dataset in document["dcat:dataset"]:
        for distribution in dataset["dcat:distribution"]:
            url = distribution["dcat:downloadURL"]["@id"]
            response = await client.get(url.replace("http://testserver.local", ""))
            assert response.status_code == 200, url
            body = response.content
            assert not any(code.encode() in body for code in meter_codes), url
            if url.endswith((".csv", ".geojson", ".parquet")) and "/standorte." not in url:
                fmt = url.rsplit(".", 1)[1]
                streams = {r["stream"] for r in rows_of(fmt, body)}
                assert "energy" not in streams, url
    for fmt in FORMATS:
        for name in ("2026-11", "standorte"):
            refused = await client.get(f"/opendata/household_meter/{name}.{fmt}")
            assert refused.status_code == 404
            assert "Einen Datensatz „household_meter“ gibt es nicht" in refused.text


async def test_the_catalogue_is_dcat_ap_de(
    client: AsyncTestClient[Any], runtime: Runtime, types: dict[str, AssetType]
) -> None:
    await city_with_readings(runtime, types)
    response = await client.get("/opendata/catalog.jsonld")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/ld+json")
    document = response.json()
    context = document["@context"]
    assert context["dcat"] == "http://www.w3.org/ns/dcat#"
    assert context["dct"] == "http://purl.org/dc/terms/"
    assert context["dcatde"] == "http://dcat-ap.de/def/dcatde/"
    assert document["@type"] == "dcat:Catalog"
    for prop in ("dct:title", "dct:description", "dct:publisher", "dcat:dataset", "dct:license"):
        assert document[prop], prop
    assert document["dct:publisher"]["foaf:name"] == "Stadt Duisburg"
    traffic = next(d for d in document["dcat:dataset"] if d["@id"].endswith("#traffic_counter"))
    assert traffic["@type"] == "dcat:Dataset"
    for prop in (
        "dct:title",
        "dct:description",
        "dct:publisher",
        "dct:identifier",
        "dcat:contactPoint",
        "dcat:keyword",
        "dcat:theme",
        "dcat:distribution",
        "dct:temporal",
        "dcatde:contributorID",
        "dcatde:politicalGeocodingURI",
        "dcatde:politicalGeocodingLevelURI",
    ):
        assert traffic[prop], prop
    assert traffic["dcatde:politicalGeocodingURI"]["@id"].endswith("/municipalityKey/05112000")
    assert traffic["dcat:theme"] == [
        {"@id": "http://publications.europa.eu/resource/authority/data-theme/TRAN"}
    ]
    urls = {d["dcat:downloadURL"]["@id"] for d in traffic["dcat:distribution"]}
    base = "http://testserver.local/opendata/traffic_counter/"
    assert urls == {base + f"{name}.{fmt}" for name in ("standorte", "2026-11", "2026-10") for fmt in FORMATS}
    for distribution in traffic["dcat:distribution"]:
        assert distribution["@type"] == "dcat:Distribution"
        assert distribution["dcat:accessURL"]["@id"]
        assert distribution["dct:license"]["@id"] == "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
        assert distribution["dcatde:licenseAttributionByText"] == "Stadt Duisburg"
        assert distribution["dct:format"]["@id"].startswith(
            "http://publications.europa.eu/resource/authority/file-type/"
        )
    # A dataset without readings yet is listed with its sites only.
    heat = next(d for d in document["dcat:dataset"] if d["@id"].endswith("#heating_point"))
    assert {d["dcat:downloadURL"]["@id"].rsplit("/", 1)[1] for d in heat["dcat:distribution"]} == {
        f"standorte.{fmt}" for fmt in FORMATS
    }


async def test_site_lists_hold_every_asset_of_the_type(
    client: AsyncTestClient[Any], runtime: Runtime, types: dict[str, AssetType]
) -> None:
    city = await city_with_readings(runtime, types)
    expected = sorted(r.code for r in city["records"] if r.type_key == "wifi_hotspot")
    for fmt in FORMATS:
        response = await client.get(f"/opendata/wifi_hotspot/standorte.{fmt}")
        assert response.status_code == 200
        body = response.content
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(body.decode())))
        elif fmt == "geojson":
            rows = [f["properties"] for f in json.loads(body)["features"]]
        else:
            rows = pq.read_table(io.BytesIO(body)).to_pylist()
        assert sorted(r["asset"] for r in rows) == expected
        zoo = next(r for r in rows if r["name"] == "Zoo Duisburg")
        assert zoo["organisation"] == "Stadtwerke Duisburg"
        assert zoo["streams"] == "logins data_volume unique_visitors"


async def test_bad_requests_get_clear_errors(
    client: AsyncTestClient[Any], runtime: Runtime, types: dict[str, AssetType]
) -> None:
    await city_with_readings(runtime, types)
    cases = [
        ("/opendata/traffic_counter/2026-13.csv", 400, "Monat „2026-13“ gibt es nicht"),
        ("/opendata/traffic_counter/2026-1.csv", 400, "Monat „2026-1“ ist ungültig: erwartet wird JJJJ-MM"),
        ("/opendata/traffic_counter/november.geojson", 400, "Monat „november“ ist ungültig"),
        ("/opendata/traffic_counter/2026-11.xlsx", 400, "„2026-11.xlsx“ ist keine Datei dieses Datensatzes"),
        ("/opendata/traffic_counter/2026-11", 400, "keine Datei dieses Datensatzes"),
        ("/opendata/kameras/2026-11.csv", 404, "Einen Datensatz „kameras“ gibt es nicht"),
        (
            "/opendata/traffic_counter/2025-01.csv",
            404,
            "Für „traffic_counter“ gibt es im Monat 2025-01 keine Daten.",
        ),
    ]
    for url, status, message in cases:
        response = await client.get(url)
        assert response.status_code == status, url
        assert message in response.text, (url, response.text[:500])
    api = await client.get("/opendata/traffic_counter/2026-13.csv", headers={"Accept": "application/json"})
    assert api.status_code == 400
    assert "gibt es nicht" in api.json()["error"]["message"]
