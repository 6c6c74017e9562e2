"""A second city needs only a profile folder: its own shapes, districts, places and densities, no code."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from stadtkern.contracts import AssetType
from stadtkern.core.city import load_city
from stadtkern.sensorthings import models as sta
from stadtkern.twin import services
from stadtkern.twin.generation import plan_assets
from stadtkern.twin.profile import load_twin_profile
from stadtkern.web.runtime import Runtime

CITY_TOML = """
[city]
slug = "musterstadt"
name = "Musterstadt"
official_name = "Stadt Musterstadt"

[modules]
enabled = ["twin", "lighting", "wifi"]

[imprint]
operator = "Stadt Musterstadt"
represented_by = "Die Bürgermeisterin"
address = "Markt 1, 12345 Musterstadt"
phone = "01234 0"
email = "info@musterstadt.example"
supervisory_authority = "Bezirksregierung"

[privacy]
controller = "Stadt Musterstadt"
data_protection_officer = "Datenschutz"
dpo_email = "datenschutz@musterstadt.example"
supervisory_authority = "LDI"

[accessibility]
contact_name = "Barrierefreiheit"
contact_email = "barrierefrei@musterstadt.example"
contact_phone = "01234 0"
enforcement_body = "Ombudsstelle"
statement_date = "2026-11-22"

[[organisations]]
key = "bauhof"
name = "Bauhof Musterstadt"

[[offices]]
key = "rathaus"
name = "Rathaus"
address = "Markt 1"
district = "Nord"
phone = "01234 0"
opening_hours = "Mo-Fr 8-12 Uhr"
"""

TWIN_TOML = """
[boundaries]
directory = "grenzen"
outline = "0"
attribution = "Testdaten"

[generation]
seed = 1
weights = { "1" = 2.0 }

[generation.types.street_light]
per_km2 = 5.0
organisation = "bauhof"

[generation.types.wifi_hotspot]
places = "wlan.toml"
organisation = "bauhof"
"""

DISTRICTS_TOML = """
[[districts]]
code = "1"
name = "Nord"
level = "Stadtbezirk"
center = [10.05, 50.015]

[[districts]]
code = "2"
name = "Süd"
level = "Stadtbezirk"
center = [10.05, 49.995]

[[districts]]
code = "11"
name = "Altstadt"
level = "Ortsteil"
center = [10.03, 50.01]
"""

PLACES_TOML = """
[[places]]
key = "markt"
name = "Marktplatz"
location = [10.06, 50.012]
approximate = false

[[places]]
key = "rathaus"
name = "Rathaus"
office = "rathaus"
"""


def _square(x0: float, y0: float, x1: float, y1: float) -> str:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return json.dumps(
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    )


def make_city(root: Path) -> Path:
    """Test shapes: a 0.1° × 0.04° rectangle split into a northern and a southern half."""
    city = root / "musterstadt"
    (city / "grenzen").mkdir(parents=True)
    (city / "city.toml").write_text(CITY_TOML, encoding="utf-8")
    (city / "twin.toml").write_text(TWIN_TOML, encoding="utf-8")
    (city / "districts.toml").write_text(DISTRICTS_TOML, encoding="utf-8")
    (city / "wlan.toml").write_text(PLACES_TOML, encoding="utf-8")
    (city / "appointments.toml").write_text(
        '[[offices]]\nkey = "rathaus"\nlocation = [10.07, 50.015]\n', encoding="utf-8"
    )
    (city / "grenzen" / "0_stadt.geojson").write_text(_square(10.0, 49.98, 10.1, 50.02), encoding="utf-8")
    (city / "grenzen" / "1_nord.geojson").write_text(_square(10.0, 50.0, 10.1, 50.02), encoding="utf-8")
    (city / "grenzen" / "2_sued.geojson").write_text(_square(10.0, 49.98, 10.1, 50.0), encoding="utf-8")
    (city / "grenzen" / "11_altstadt.geojson").write_text(
        _square(10.02, 50.005, 10.04, 50.015), encoding="utf-8"
    )
    return city


def test_a_second_city_profile_plans_its_own_assets(tmp_path: Path, types: dict[str, AssetType]) -> None:
    city = load_city(make_city(tmp_path))
    profile = load_twin_profile(city)
    assert [d.name for d in profile.stadtbezirke] == ["Nord", "Süd"]
    assert [(o.name, o.parent) for o in profile.ortsteile] == [("Altstadt", "1")]
    city_types = {key: types[key] for key in ("street_light", "wifi_hotspot")}
    assets = plan_assets(profile, city_types)
    lights = [a for a in assets if a.type_key == "street_light"]
    north = [a for a in lights if a.district_code == "1"]
    # 0.1° × 0.02° at 50° N is about 15.9 km²; 5 per km², the north weighted twice.
    assert len(north) == round(5.0 * profile.stadtbezirk("1").area.area_km2 * 2.0)
    assert len(lights) - len(north) == round(5.0 * profile.stadtbezirk("2").area.area_km2)
    assert {a.organisation for a in assets} == {"bauhof"}
    hotspots = {a.name: a for a in assets if a.type_key == "wifi_hotspot"}
    assert set(hotspots) == {"Marktplatz", "Rathaus"}
    assert (hotspots["Rathaus"].lon, hotspots["Rathaus"].lat) == (10.07, 50.015)  # the office's position
    assert hotspots["Marktplatz"].properties["approximate_position"] is False
    assert any(a.properties.get("ortsteil") == "11" for a in lights)


async def test_a_second_city_is_provisioned(rt: Runtime, tmp_path: Path, types: dict[str, AssetType]) -> None:
    city = load_city(make_city(tmp_path))
    city_types = {key: types[key] for key in ("street_light", "wifi_hotspot")}
    async with rt.sessions() as session, session.begin():
        report = await services.provision_city(session, city, city_types, now=rt.clock.now())
    async with rt.sessions() as session:
        assets = await services.list_assets(session)
        things = await session.scalar(select(func.count()).select_from(sta.THINGS))
    assert len(assets) == report.assets_added == things
    assert {a.type_key for a in assets} == {"street_light", "wifi_hotspot"}
