"""The city's appointment data (``appointments.toml``, ``districts.toml``) and loading it on first start."""

from __future__ import annotations

import tomllib
from datetime import time
from functools import lru_cache
from pathlib import Path

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from stadtkern.appointments import models as m
from stadtkern.config import ConfigError
from stadtkern.core.city import CityProfile

WEEKDAYS = ("mo", "di", "mi", "do", "fr", "sa", "so")


class OfficeSetup(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    counters: int
    location: tuple[float, float]  # longitude, latitude
    hours: dict[str, list[str]]


class ServiceSetup(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    name: str
    duration_minutes: int
    offices: dict[str, int]
    description: str = ""
    fee: str = ""
    documents: list[str] = msgspec.field(default_factory=list)
    max_open_per_person: int = 1


class Place(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    location: tuple[float, float]


class AppointmentProfile(msgspec.Struct, forbid_unknown_fields=True):
    offices: list[OfficeSetup] = msgspec.field(default_factory=list)
    services: list[ServiceSetup] = msgspec.field(default_factory=list)
    stops: list[Place] = msgspec.field(default_factory=list)
    demo: bool = False


class District(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    name: str
    level: str
    center: tuple[float, float]


class Districts(msgspec.Struct):
    districts: list[District] = msgspec.field(default_factory=list)


def _read(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def parse_hours(text: str, where: str) -> tuple[time, time]:
    """``"08:00-12:30"`` -> (08:00, 12:30); errors name the place in the file."""
    try:
        opens, closes = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not an interval like 08:00-12:30") from None
    if closes <= opens:
        raise ConfigError(f"{where}: {text!r} closes before it opens")
    return opens, closes


def load_profile(city: CityProfile) -> AppointmentProfile:
    path = city.directory / "appointments.toml"
    try:
        profile = msgspec.convert(_read(path), AppointmentProfile)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    office_keys = {o.key for o in city.offices}
    for office in profile.offices:
        if office.key not in office_keys:
            raise ConfigError(f"{path}: office {office.key!r} is not in city.toml [[offices]]")
        for day, intervals in office.hours.items():
            if day not in WEEKDAYS:
                raise ConfigError(f"{path}: office {office.key!r}: unknown weekday {day!r} (mo … so)")
            for interval in intervals:
                parse_hours(interval, f"{path}: office {office.key!r} {day}")
    set_up = {o.key for o in profile.offices}
    for service in profile.services:
        for key in service.offices:
            if key not in set_up:
                raise ConfigError(f"{path}: service {service.key!r} names office {key!r}, which has no entry")
    return profile


@lru_cache(maxsize=4)
def load_districts(directory: Path) -> list[District]:
    path = directory / "districts.toml"
    try:
        return msgspec.convert(_read(path), Districts).districts
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from None


async def seed(session: AsyncSession, city: CityProfile) -> None:
    """Load offices, hours and services into an empty database (later edits are the back office's)."""
    if await session.scalar(select(func.count()).select_from(m.Office)):
        return
    profile = load_profile(city)
    offices: dict[str, m.Office] = {}
    for setup in profile.offices:
        info = city.office(setup.key)
        assert info is not None  # load_profile checked it
        office = m.Office(
            key=setup.key,
            name=info.name,
            address=info.address,
            district=info.district,
            phone=info.phone,
            longitude=setup.location[0],
            latitude=setup.location[1],
            counters=setup.counters,
        )
        session.add(office)
        offices[setup.key] = office
    await session.flush()
    for setup in profile.offices:
        for day, intervals in setup.hours.items():
            for interval in intervals:
                opens, closes = parse_hours(interval, setup.key)
                session.add(
                    m.OpeningHours(
                        office_id=offices[setup.key].id,
                        weekday=WEEKDAYS.index(day),
                        opens=opens,
                        closes=closes,
                    )
                )
    for item in profile.services:
        service = m.Service(
            key=item.key,
            name=item.name,
            description=item.description,
            duration_minutes=item.duration_minutes,
            fee=item.fee,
            documents=list(item.documents),
            max_open_per_person=item.max_open_per_person,
        )
        session.add(service)
        await session.flush()
        for office_key, counters in item.offices.items():
            session.add(
                m.OfficeService(office_id=offices[office_key].id, service_id=service.id, counters=counters)
            )
    await session.flush()
