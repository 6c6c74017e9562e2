"""The Duisburg profile: real shapes (OSM, ODbL) for the city, 7 Stadtbezirke and their Ortsteile, the 12
WLAN places of seed 001 and the city offices, all consistent with districts.toml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shapely.ops import unary_union

from stadtkern.config import ConfigError
from stadtkern.core.city import CityProfile
from stadtkern.twin.geometry import area_km2
from stadtkern.twin.profile import TwinProfile, load_twin_profile
from tests.twin.conftest import DUISBURG

SEED_001_HOTSPOTS = {
    "Zoo Duisburg",
    "Bahnhofsvorplatte",
    "Hamborn Altmarkt",
    "Michaelplatz",
    "Fernbusbahnhof",
    "Regattabahn",
    "Innenhafen (Hafenforum)",
    "KÖ-Duisburg",
    "Knüllermarkt",
    "Opernplatz/Stadttheater",
    "KSC / Kunden Service Center",
    "Straßenverkehrsamt",
}


def test_seven_stadtbezirke_and_the_ortsteile_with_shapes(twin_profile: TwinProfile) -> None:
    names = {d.code: d.name for d in twin_profile.stadtbezirke}
    assert names == {
        "100": "Walsum",
        "200": "Hamborn",
        "300": "Meiderich/Beeck",
        "400": "Homberg/Ruhrort/Baerl",
        "500": "Duisburg-Mitte",
        "600": "Rheinhausen",
        "700": "Duisburg-Süd",
    }
    # The Ortsteile whose shapes exist in the source (Walsum, Hamborn and Rheinhausen have none there).
    assert len(twin_profile.ortsteile) == 27
    assert {o.parent for o in twin_profile.ortsteile} == {"300", "400", "500", "700"}
    for ortsteil in twin_profile.ortsteile:
        parent = twin_profile.stadtbezirk(ortsteil.parent or "")
        # An Ortsteil lies in its Stadtbezirk (up to the digitising noise along shared borders).
        outside = ortsteil.area.geometry.difference(parent.area.geometry)
        assert area_km2(outside) < 0.02 * ortsteil.area.area_km2, ortsteil.name


def test_the_shapes_are_the_real_ones(twin_profile: TwinProfile) -> None:
    # Duisburg's official area is 232.8 km²; the Stadtbezirke tile the city outline.
    assert twin_profile.outline.area_km2 == pytest.approx(232.8, rel=0.01)
    union = unary_union([d.area.geometry for d in twin_profile.stadtbezirke])
    assert area_km2(union) == pytest.approx(twin_profile.outline.area_km2, rel=0.01)
    assert area_km2(union.symmetric_difference(twin_profile.outline.geometry)) < 1.0
    assert twin_profile.attribution == "© OpenStreetMap contributors"
    assert twin_profile.licence == "ODbL 1.0"
    source = (DUISBURG / "boundaries" / "SOURCE.txt").read_text(encoding="utf-8")
    assert "ODbL" in source
    assert "OpenStreetMap contributors" in source


def test_districts_toml_and_the_shapes_are_one_list(twin_profile: TwinProfile) -> None:
    shapes = {path.name.split("_", 1)[0] for path in (DUISBURG / "boundaries").glob("*.json")}
    listed = {d.code for d in twin_profile.stadtbezirke + twin_profile.ortsteile}
    assert shapes == listed | {"000"}
    for district in twin_profile.stadtbezirke + twin_profile.ortsteile:
        assert district.area.contains(*district.center), district.name


def test_the_twelve_hotspots_of_seed_001(twin_profile: TwinProfile) -> None:
    hotspots = [p for p in twin_profile.places if p.type_key == "wifi_hotspot"]
    assert {p.name for p in hotspots} == SEED_001_HOTSPOTS
    assert len(hotspots) == 12
    for place in hotspots:
        assert place.approximate, place.name  # the data says the positions are approximate
        assert twin_profile.outline.contains(place.lon, place.lat)
        assert twin_profile.stadtbezirk(place.district_code).area.contains(place.lon, place.lat)
    by_name = {p.name: p for p in hotspots}
    assert by_name["Hamborn Altmarkt"].district_code == "200"
    assert by_name["Zoo Duisburg"].district_code == "500"


def test_offices_come_from_the_appointment_profile(twin_profile: TwinProfile) -> None:
    offices = {o.key: o for o in twin_profile.offices}
    assert set(offices) == {"bs-mitte", "bs-hamborn", "bs-rheinhausen", "bs-walsum", "strassenverkehrsamt"}
    assert offices["bs-hamborn"].district_code == "200"
    assert offices["bs-walsum"].district_code == "100"
    assert offices["bs-rheinhausen"].district_code == "600"
    # The Straßenverkehrsamt hotspot takes the office's position instead of repeating it.
    hotspot = next(p for p in twin_profile.places if p.key == "strassenverkehrsamt")
    assert (hotspot.lon, hotspot.lat) == (
        offices["strassenverkehrsamt"].lon,
        offices["strassenverkehrsamt"].lat,
    )


def test_a_district_without_a_shape_is_refused(duisburg: CityProfile, tmp_path: Path) -> None:
    city = tmp_path / "stadt"
    city.mkdir()
    for name in ("twin.toml", "hotspots.toml", "appointments.toml"):
        (city / name).write_text((DUISBURG / name).read_text(encoding="utf-8"), encoding="utf-8")
    (city / "districts.toml").write_text(
        (DUISBURG / "districts.toml").read_text(encoding="utf-8")
        + '\n[[districts]]\ncode = "800"\nname = "Erfunden"\nlevel = "Stadtbezirk"\ncenter = [6.7, 51.4]\n',
        encoding="utf-8",
    )
    (city / "boundaries").mkdir()
    for path in (DUISBURG / "boundaries").glob("*.json"):
        (city / "boundaries" / path.name).write_bytes(path.read_bytes())
    profile = CityProfile(
        city=duisburg.city,
        imprint=duisburg.imprint,
        privacy=duisburg.privacy,
        accessibility=duisburg.accessibility,
        organisations=duisburg.organisations,
        offices=duisburg.offices,
        directory=city,
    )
    with pytest.raises(ConfigError, match="800 \\(Erfunden\\) has no shape"):
        load_twin_profile(profile)


def test_shapes_are_geojson_copies_of_the_source() -> None:
    for path in (DUISBURG / "boundaries").glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["type"] == "GeometryCollection"
        assert data["geometries"][0]["type"] == "MultiPolygon"
