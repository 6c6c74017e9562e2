"""Module discovery: entry points, switched on per city profile, one plugin manager."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stadtkern.config import ConfigError, load_settings
from stadtkern.core.city import load_city
from stadtkern.modules import CORE_MODULES, available_modules, collect, plugin_manager

REPO = Path(__file__).resolve().parents[1]


def test_core_modules_are_installed_as_entry_points() -> None:
    assert set(CORE_MODULES) <= set(available_modules())


def test_core_modules_always_run_and_contribute_routes() -> None:
    pm = plugin_manager(enabled=[])
    assert {name for name, _plugin in pm.list_name_plugin()} >= set(CORE_MODULES)
    paths = {
        path for handler in collect(pm.hook.stadtkern_routes()) for path in getattr(handler, "paths", ())
    }
    assert "/" in paths
    assert "/dev/mail" in paths


def test_enabling_an_uninstalled_module_is_one_clear_error() -> None:
    with pytest.raises(
        ConfigError, match="Module 'parking' is enabled in the city profile but not installed"
    ):
        plugin_manager(enabled=["parking"])


def test_a_second_city_needs_only_a_profile_folder(tmp_path: Path) -> None:
    cities = tmp_path / "cities"
    shutil.copytree(REPO / "cities" / "duisburg", cities / "musterstadt")
    toml = cities / "musterstadt" / "city.toml"
    toml.write_text(
        toml.read_text()
        .replace('slug = "duisburg"', 'slug = "musterstadt"')
        .replace('name = "Duisburg"', 'name = "Musterstadt"')
    )
    settings = load_settings(
        {
            "STADTKERN_CITY": "musterstadt",
            "STADTKERN_CITIES_DIR": str(cities),
            "STADTKERN_DATA_DIR": str(tmp_path),
        },
        env_file=tmp_path / "none.env",
    )
    assert load_city(settings.city_dir).city.name == "Musterstadt"


def test_city_profile_errors_name_the_field(tmp_path: Path) -> None:
    folder = tmp_path / "kaputt"
    folder.mkdir()
    text = (REPO / "cities" / "duisburg" / "city.toml").read_text()
    (folder / "city.toml").write_text(text.replace('operator = "Stadt Duisburg"\n', ""))
    with pytest.raises(ConfigError, match=r"imprint.*operator|operator.*imprint"):
        load_city(folder)
