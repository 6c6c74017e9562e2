"""The city profile (``cities/<city>/city.toml``): the city described as data, validated on load."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec

from stadtkern.config import ConfigError


class CityInfo(msgspec.Struct, forbid_unknown_fields=True):
    slug: str
    name: str
    official_name: str
    timezone: str = "Europe/Berlin"
    default_locale: str = "de"
    center: tuple[float, float] = (0.0, 0.0)


class Modules(msgspec.Struct, forbid_unknown_fields=True):
    enabled: list[str] = msgspec.field(default_factory=list)


class Imprint(msgspec.Struct, forbid_unknown_fields=True):
    operator: str
    represented_by: str
    address: str
    phone: str
    email: str
    supervisory_authority: str
    vat_id: str = ""
    demo: bool = False


class PrivacyInfo(msgspec.Struct, forbid_unknown_fields=True):
    controller: str
    data_protection_officer: str
    dpo_email: str
    supervisory_authority: str
    demo: bool = False


class AccessibilityInfo(msgspec.Struct, forbid_unknown_fields=True):
    contact_name: str
    contact_email: str
    contact_phone: str
    enforcement_body: str
    statement_date: str
    demo: bool = False


class Organisation(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    name: str


class Contact(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    phone: str
    address: str
    opening_hours: str
    email: str = ""
    demo: bool = False


class Office(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    name: str
    address: str
    district: str
    phone: str
    opening_hours: str
    demo: bool = False


class CityProfile(msgspec.Struct, forbid_unknown_fields=True):
    city: CityInfo
    imprint: Imprint
    privacy: PrivacyInfo
    accessibility: AccessibilityInfo
    modules: Modules = msgspec.field(default_factory=Modules)
    organisations: list[Organisation] = msgspec.field(default_factory=list)
    contacts: dict[str, Contact] = msgspec.field(default_factory=dict)
    offices: list[Office] = msgspec.field(default_factory=list)
    directory: Path = Path()

    def organisation(self, key: str) -> Organisation | None:
        return next((org for org in self.organisations if org.key == key), None)

    def office(self, key: str) -> Office | None:
        return next((office for office in self.offices if office.key == key), None)

    def scopes(self, kind: str) -> list[tuple[str, str]]:
        """(key, name) pairs a role of this scope kind can be limited to."""
        if kind == "office":
            return [(o.key, o.name) for o in self.offices]
        if kind == "organisation":
            return [(o.key, o.name) for o in self.organisations]
        return []


def load_city(directory: Path) -> CityProfile:
    """Load and validate ``city.toml``; errors name the file and the field."""
    path = directory / "city.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"City profile missing: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        profile = msgspec.convert(raw, CityProfile)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    keys = [o.key for o in profile.offices] + [o.key for o in profile.organisations]
    duplicates = {k for k in keys if keys.count(k) > 1}
    if duplicates:
        raise ConfigError(f"{path}: key {sorted(duplicates)[0]!r} is used twice (offices/organisations)")
    profile.directory = directory
    return profile
