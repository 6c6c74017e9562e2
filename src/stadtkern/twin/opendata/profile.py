"""The open-data part of the city profile: ``cities/<city>/opendata.toml`` (optional).

Without the file, the catalogue uses the imprint's operator as publisher and the Datenlizenz Deutschland
Namensnennung 2.0; DCAT-AP.de's contributor id and political geocoding are then left out (they name the
city in GovData's vocabularies, which only the city profile can know).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from stadtkern.config import ConfigError
from stadtkern.core.city import CityProfile

DL_DE_BY_2_0 = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"


class CatalogProfile(msgspec.Struct, forbid_unknown_fields=True):
    title: str = ""
    description: str = ""
    publisher: str = ""
    publisher_url: str = ""
    contact_email: str = ""
    # dct:license: a URI of the DCAT-AP.de licence vocabulary (http://dcat-ap.de/def/licenses/...)
    licence: str = DL_DE_BY_2_0
    licence_name: str = "Datenlizenz Deutschland – Namensnennung – Version 2.0"
    licence_url: str = "https://www.govdata.de/dl-de/by-2-0"
    # dcatde:licenseAttributionByText: the text users must name when they use the data
    attribution: str = ""
    # dcatde:contributorID: the data provider in http://dcat-ap.de/def/contributors/
    contributor_id: str = ""
    # dcatde:politicalGeocodingURI / ...LevelURI: the area the data cover (e.g. the municipality key)
    political_geocoding_uri: str = ""
    political_geocoding_level: str = ""
    # dcat:theme: EU data themes (http://publications.europa.eu/resource/authority/data-theme/...) per
    # asset type key; types not named get the default
    themes: dict[str, list[str]] = msgspec.field(default_factory=dict)
    default_themes: list[str] = msgspec.field(default_factory=lambda: ["GOVE"])
    demo: bool = False


class _File(msgspec.Struct, forbid_unknown_fields=True):
    catalog: CatalogProfile = msgspec.field(default_factory=CatalogProfile)


def load_catalog_profile(city: CityProfile) -> CatalogProfile:
    path = Path(city.directory) / "opendata.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raw = {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        profile = msgspec.convert(raw, _File).catalog
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not profile.publisher:
        profile.publisher = city.imprint.operator
    if not profile.attribution:
        profile.attribution = profile.publisher
    if not profile.contact_email:
        profile.contact_email = city.imprint.email
    return profile
