"""Asset types declared by the domain modules (hook ``stadtkern_asset_types``): the keys simulators use."""

from __future__ import annotations

from importlib.metadata import entry_points

from stadtkern.contracts import OM_COUNT, AssetType
from stadtkern.core.city import CityProfile

DOMAINS = ("lighting", "wifi", "energy", "water", "heat", "waste", "traffic")

EXPECTED = {
    "street_light": ("lighting", {"dim_level": "%", "fault": "1"}),
    "wifi_hotspot": ("wifi", {"logins": "{logins}", "data_volume": "GBy", "unique_visitors": "{visitors}"}),
    "household_meter": ("energy", {"energy": "Wh", "feed_in": "Wh"}),
    "substation": ("energy", {"load": "kW"}),
    "water_pressure_sensor": ("water", {"pressure": "bar"}),
    "water_flow_sensor": ("water", {"flow": "m3/h"}),
    "heating_point": ("heat", {"supply_temperature": "Cel", "heat_power": "kW"}),
    "waste_container": ("waste", {"fill_level": "%"}),
    "traffic_counter": ("traffic", {"vehicles": "{vehicles}"}),
}


def test_the_declared_types_and_their_datastreams(types: dict[str, AssetType]) -> None:
    assert set(types) == set(EXPECTED)
    for key, (domain, streams) in EXPECTED.items():
        asset_type = types[key]
        assert asset_type.domain == domain
        assert {s.key: s.unit.symbol for s in asset_type.datastreams} == streams
        for stream in asset_type.datastreams:
            assert stream.observed_property.definition.startswith("http")
            assert stream.unit.definition.startswith("http")
            low, high = stream.value_range
            assert low < high
        for text in (asset_type.title, asset_type.purpose, asset_type.legal_basis):
            assert str(text)
        assert asset_type.retention.days >= 1
    assert [key for key, t in types.items() if t.personal] == ["household_meter"]
    assert types["street_light"].datastream("dim_level").value_range == (0.0, 100.0)
    assert types["street_light"].datastream("fault").value_range == (0.0, 1.0)
    assert types["wifi_hotspot"].datastream("logins").observation_type == OM_COUNT
    assert types["wifi_hotspot"].datastream("logins").interval is not None


def test_each_domain_is_a_module_of_its_own(duisburg: CityProfile) -> None:
    registered = {ep.name: ep.value for ep in entry_points(group="stadtkern.modules")}
    for domain in (*DOMAINS, "twin"):
        assert registered[domain] == f"stadtkern.{domain}.plugin"
        assert domain in duisburg.modules.enabled
