"""Tables of the asset registry: every asset of the city and the SensorThings entities it became.

An asset's ``code`` is its stable name across runs and installations of the same profile (generation is
seeded), so provisioning can be repeated and only adds what is missing. The SensorThings ids are
references into the SensorThings core (no foreign keys across modules: the core owns its tables).

Nothing here is personal data: household meters are generated assets; who owns one is recorded only on
its Datastreams (SensorThings access ``personal``), which the SensorThings privacy provider covers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Table
from sqlalchemy.orm import Mapped, mapped_column

from stadtkern.db.base import Base


class Asset(Base):
    """One asset of the city: a street light, a WLAN hotspot, a household meter, ..."""

    __tablename__ = "twin_assets"
    __table_args__ = (Index("ix_twin_assets_type_district", "type_key", "district_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    type_key: Mapped[str] = mapped_column(String(64))
    # The Stadtbezirk (district code of the city profile) the asset stands in.
    district_code: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(255))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    # Key of the operating organisation in city.toml ([[organisations]]).
    organisation: Mapped[str] = mapped_column(String(64))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The SensorThings Thing this asset became (None until provisioned).
    thing_id: Mapped[int | None] = mapped_column(index=True)
    created_at: Mapped[datetime]


class AssetDatastream(Base):
    """The SensorThings Datastream behind one Datastream key of an asset's type."""

    __tablename__ = "twin_asset_datastreams"

    asset_id: Mapped[int] = mapped_column(ForeignKey("twin_assets.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    datastream_id: Mapped[int] = mapped_column(unique=True)


class AssetTypeEntities(Base):
    """The SensorThings entities shared by all assets of a type (its Sensor)."""

    __tablename__ = "twin_asset_types"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sensor_id: Mapped[int]


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


ASSETS = _table(Asset)
ASSET_DATASTREAMS = _table(AssetDatastream)
ASSET_TYPES = _table(AssetTypeEntities)
