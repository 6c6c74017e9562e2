"""Generating the demo city: deterministic, inside the real shapes, several thousand assets by default."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from stadtkern.config import ConfigError
from stadtkern.contracts import AssetType
from stadtkern.twin.generation import plan_assets
from stadtkern.twin.profile import TwinProfile


def test_generation_is_deterministic(twin_profile: TwinProfile, types: dict[str, AssetType]) -> None:
    first = plan_assets(twin_profile, types)
    second = plan_assets(twin_profile, types)
    assert first == second
    other_seed = plan_assets(replace(twin_profile, seed=twin_profile.seed + 1), types)
    assert [(a.lon, a.lat) for a in other_seed] != [(a.lon, a.lat) for a in first]


def test_every_asset_lies_inside_its_district(twin_profile: TwinProfile, types: dict[str, AssetType]) -> None:
    assets = plan_assets(twin_profile, types)
    for asset in assets:
        assert twin_profile.stadtbezirk(asset.district_code).area.contains(asset.lon, asset.lat), asset.code
        ortsteil = asset.properties.get("ortsteil")
        if ortsteil is not None:
            assert next(o for o in twin_profile.ortsteile if o.code == ortsteil).parent == asset.district_code


def test_the_default_demo_has_several_thousand_assets(
    twin_profile: TwinProfile, types: dict[str, AssetType]
) -> None:
    assets = plan_assets(twin_profile, types)
    assert 3000 <= len(assets) <= 6000
    per_type = Counter(a.type_key for a in assets)
    assert per_type["wifi_hotspot"] == 12
    assert set(per_type) == {
        "street_light",
        "wifi_hotspot",
        "household_meter",
        "substation",
        "water_pressure_sensor",
        "water_flow_sensor",
        "heating_point",
        "waste_container",
        "traffic_counter",
    }
    assert per_type["street_light"] > per_type["waste_container"] > per_type["substation"]
    # Every Stadtbezirk has its street lights, meters and containers.
    for district in twin_profile.stadtbezirke:
        here = Counter(a.type_key for a in assets if a.district_code == district.code)
        assert here["street_light"] > 100
        assert here["household_meter"] > 50
        assert here["waste_container"] > 20
    codes = [a.code for a in assets]
    assert len(set(codes)) == len(codes)


def test_scale_keeps_the_assets_of_a_smaller_city(
    twin_profile: TwinProfile, types: dict[str, AssetType]
) -> None:
    small = {a.code: a for a in plan_assets(twin_profile, types, scale=0.25)}
    large = {a.code: a for a in plan_assets(twin_profile, types, scale=1.0)}
    assert 0.2 * len(large) < len(small) < 0.35 * len(large)
    for code, asset in small.items():
        assert large[code] == asset


def test_properties_the_simulator_reads(twin_profile: TwinProfile, types: dict[str, AssetType]) -> None:
    assets = plan_assets(twin_profile, types, scale=0.2)
    meters = [a for a in assets if a.type_key == "household_meter"]
    assert {a.properties["profile"] for a in meters} == {"H0", "H25"}
    assert all(
        1400 <= a.properties["annual_kwh"] <= 5200 for a in meters if "demo_household" not in a.properties
    )
    demo = [a for a in meters if a.properties.get("demo_household")]
    assert [a.owner_email for a in demo] == [
        "haushalt1@stadtkern.localhost",
        "haushalt2@stadtkern.localhost",
        "haushalt3@stadtkern.localhost",
    ]
    hotspots = [a for a in assets if a.type_key == "wifi_hotspot"]
    assert all(a.properties["approximate_position"] is True and a.properties["weight"] > 0 for a in hotspots)
    containers = [a for a in assets if a.type_key == "waste_container"]
    assert all(isinstance(a.properties["volume_l"], int) for a in containers)


def test_a_type_no_module_declares_is_refused(twin_profile: TwinProfile, types: dict[str, AssetType]) -> None:
    without_waste = {key: t for key, t in types.items() if key != "waste_container"}
    with pytest.raises(ConfigError, match="waste_container"):
        plan_assets(twin_profile, without_waste)
