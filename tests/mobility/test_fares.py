"""VRR fares from the city profile: levels from the cities a journey touches, prices as data."""

from __future__ import annotations

from pathlib import Path

import pytest

from stadtkern.config import ConfigError
from stadtkern.mobility.fares import FareError, euro, fares_for, load_fares, price_for_journey

CITY = Path(__file__).resolve().parents[2] / "cities" / "duisburg"


def test_profile_loads_with_the_2026_prices() -> None:
    fares = load_fares(CITY)
    assert fares.price("einzel", "A") == 380
    assert fares.price("einzel", "B") == 780
    assert fares.price("einzel_kind", "A") == 210
    assert fares.price("deutschland", "D") == 6300
    assert fares.sepa.creditor_id.startswith("DE")


def test_within_duisburg_is_level_a() -> None:
    price = price_for_journey(["Duisburg Hbf", "König-Heinrich-Platz", "Meiderich Süd"], CITY)
    assert price.level == "A"
    assert price.cities == ("Duisburg",)
    assert price.cheapest.cents == 380
    assert price.text == "Preisstufe A: 3,80 €"
    assert [p.product for p in price.prices] == ["einzel", "einzel_kind", "tag24"]


def test_to_a_neighbouring_city_is_level_b() -> None:
    stops = [("de:05112:1", "Duisburg Hbf"), ("de:05117:2", "Mülheim (Ruhr) Hbf")]
    price = price_for_journey(stops, CITY)
    assert price.level == "B"
    assert price.cities == ("Duisburg", "Mülheim an der Ruhr")
    assert price.cheapest.text == "7,80 €"


def test_beyond_the_neighbours_is_level_c() -> None:
    stops = [{"name": "Duisburg Hbf"}, {"name": "Mülheim Stadtmitte"}, {"name": "Essen Hbf"}]
    assert price_for_journey(stops, CITY).level == "C"


def test_an_explicit_city_wins_and_stop_id_rules_come_first() -> None:
    fares = load_fares(CITY)
    assert fares.city_of_stop("de:05113:9", "Duisburg Hbf") == "Essen"
    assert fares.city_of_stop("", "Irgendwo") == "Duisburg"  # default_city
    assert price_for_journey([("x", "Hbf", "Krefeld"), ("y", "Duisburg Hbf", None)], fares).level == "B"


def test_outside_the_tariff_area_is_refused_in_german() -> None:
    with pytest.raises(FareError, match="nicht im Tarifgebiet"):
        price_for_journey([("x", "Köln Hbf", "Köln")], CITY)
    with pytest.raises(FareError):
        price_for_journey([], CITY)


def test_zone_coverage() -> None:
    fares = load_fares(CITY)
    assert fares.covers("A", "Duisburg", "Duisburg")
    assert not fares.covers("A", "Duisburg", "Essen")
    assert fares.covers("B", "Duisburg", "Mülheim an der Ruhr")
    assert not fares.covers("B", "Duisburg", "Essen")
    assert fares.covers("C", "Duisburg", "Essen")
    assert fares.covers("D", "Duisburg", "Köln")


def test_euro_formatting() -> None:
    assert euro(380) == "3,80 €"
    assert euro(6300) == "63,00 €"
    assert euro(5) == "0,05 €"


def test_a_broken_profile_names_file_and_field(tmp_path: Path) -> None:
    text = (
        (CITY / "fares.toml")
        .read_text(encoding="utf-8")
        .replace('default_city = "Duisburg"', 'default_city = "Atlantis"')
    )
    (tmp_path / "fares.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="Atlantis"):
        load_fares(tmp_path)
    with pytest.raises(ConfigError, match="missing"):
        fares_for(tmp_path / "nowhere" / "fares.toml")


def test_no_price_in_code() -> None:
    source = (Path(__file__).resolve().parents[2] / "src/stadtkern/mobility/fares.py").read_text()
    for number in ("380", "780", "210", "6300"):
        assert number not in source
