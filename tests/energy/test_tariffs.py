"""The tariffs file of the city profile: the Duisburg file loads; broken files are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from stadtkern.config import ConfigError
from stadtkern.energy.tariffs import load_tariffs, tariffs_for

REPO = Path(__file__).resolve().parents[2]
DUISBURG = REPO / "cities" / "duisburg"

BASIC = """
[[tariffs]]
key = "gv"
kind = "basic"
name = "Grundversorgung"
supplier = "S"
monthly_base_eur = 10.0
energy_ct_per_kwh = 40.0
data = "monthly"
demo = true
"""
PRICES = '[prices]\nbidding_zone = "DE-LU"\ndatastream_name = "Preis"\n'
DYNAMIC = """
[[tariffs]]
key = "dyn"
kind = "dynamic"
name = "Dynamisch"
supplier = "S"
monthly_base_eur = 10.0
margin_ct_per_kwh = 2.0
vat_percent = 19.0
data = "quarter_hourly"
demo = true
[[tariffs.surcharges]]
key = "steuer"
name = "Stromsteuer"
ct_per_kwh = 2.05
demo = false
"""

FEED_IN = """
[feed_in]
name = "EEG-Einspeisevergütung"
ct_per_kwh = 7.78
source = "§ 48 EEG 2023"
demo = false
"""


def write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "tariffs.toml"
    file.write_text(text, encoding="utf-8")
    return file


def test_duisburg_tariffs_load() -> None:
    book = tariffs_for(DUISBURG)
    assert book.basic.key == "grundversorgung"
    dynamic = book.dynamic
    assert dynamic is not None
    assert dynamic.vat_percent == 19.0
    tax = next(s for s in dynamic.surcharges if s.key == "stromsteuer")
    assert tax.ct_per_kwh == 2.05
    assert tax.demo is False
    assert {t.kind for t in book.tariffs} == {"basic", "fixed", "dynamic"}
    # Margin 1.80 + surcharges 9.60 + 1.99 + 2.90 + 2.05 = 18.34 ct net.
    assert dynamic.net_adders_eur_per_kwh() == pytest.approx(0.1834)


def test_valid_minimal_file(tmp_path: Path) -> None:
    book = load_tariffs(write(tmp_path, PRICES + BASIC + DYNAMIC))
    assert [t.key for t in book.tariffs] == ["gv", "dyn"]
    assert book.feed_in is None  # optional


def test_the_feed_in_rate_is_read_with_its_source(tmp_path: Path) -> None:
    book = load_tariffs(write(tmp_path, FEED_IN + PRICES + BASIC))
    assert book.feed_in is not None
    assert (book.feed_in.ct_per_kwh, book.feed_in.source) == (7.78, "§ 48 EEG 2023")
    duisburg = tariffs_for(DUISBURG).feed_in
    assert duisburg is not None
    assert duisburg.ct_per_kwh == 7.78
    assert "EEG 2023" in duisburg.source


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            PRICES + BASIC.replace("energy_ct_per_kwh = 40.0\n", ""),
            "tariffs[0] (gv).energy_ct_per_kwh: missing",
        ),
        (PRICES + BASIC.replace('name = "Grundversorgung"\n', ""), "missing required field `name`"),
        (PRICES + BASIC.replace('kind = "basic"', 'kind = "cheap"'), "`$.tariffs[0].kind`"),
        (PRICES + BASIC.replace("monthly_base_eur = 10.0", 'monthly_base_eur = "zehn"'), "monthly_base_eur"),
        (PRICES + BASIC + "colour = 1\n", "unknown field `colour`"),
        (PRICES + BASIC + DYNAMIC.replace("vat_percent = 19.0\n", ""), "(dyn).vat_percent: missing"),
        (
            PRICES + BASIC + DYNAMIC.split("[[tariffs.surcharges]]")[0],
            "(dyn).surcharges: missing",
        ),
        (PRICES + DYNAMIC, 'exactly one tariff of kind "basic"'),
        (PRICES + BASIC + BASIC.replace('"basic"', '"fixed"'), "(gv).key: 'gv' appears twice"),
        (BASIC, "missing required field `prices`"),
        (PRICES + BASIC.replace('data = "monthly"', 'data = "yearly"'), "`$.tariffs[0].data`"),
        (FEED_IN.replace("7.78", "-1.0") + PRICES + BASIC, "feed_in.ct_per_kwh: must be between 0 and 100"),
        (
            FEED_IN.replace('source = "§ 48 EEG 2023"', 'source = " "') + PRICES + BASIC,
            "feed_in.source: missing",
        ),
        (
            FEED_IN.replace('source = "§ 48 EEG 2023"\n', "") + PRICES + BASIC,
            "missing required field `source`",
        ),
        (FEED_IN.replace("7.78", '"7,78"') + PRICES + BASIC, "`$.feed_in.ct_per_kwh`"),
        (FEED_IN + "kwp_max = 10\n" + PRICES + BASIC, "unknown field `kwp_max`"),
    ],
)
def test_broken_files_are_refused_naming_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    file = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_tariffs(file)
    assert str(file) in str(caught.value)
    assert message in str(caught.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"Tariffs missing: .*tariffs\.toml"):
        tariffs_for(tmp_path)
