"""Tables of the energy module: the day-ahead price stream, meter activation codes and their attempts.

Meter readings and prices are not here: they live in SensorThings (a household's meter is a personal
Datastream, the prices a public one). Activation codes are stored only as a keyed hash; who redeemed a code
(``used_by_user_id``) and the attempts of an account are personal data (privacy provider in privacy.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from stadtkern.db.base import Base


class PriceStream(Base):
    """The SensorThings Datastream that carries a bidding zone's day-ahead prices (€/MWh)."""

    __tablename__ = "energy_price_streams"

    bidding_zone: Mapped[str] = mapped_column(String(16), primary_key=True)
    datastream_id: Mapped[int] = mapped_column(unique=True)
    created_at: Mapped[datetime]


class ActivationCode(Base):
    """A one-time code (sent by letter) that links a meter's Datastream to the household redeeming it."""

    __tablename__ = "energy_activation_codes"
    __table_args__ = {"info": {"personal": True}}

    id: Mapped[int] = mapped_column(primary_key=True)
    # The twin's asset code of the meter (household-meter-...) and its energy Datastream.
    meter_code: Mapped[str] = mapped_column(String(80), index=True)
    datastream_id: Mapped[int] = mapped_column(index=True)
    # HMAC of the normalised code with the installation's secret key.
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    created_by_user_id: Mapped[int | None]
    used_at: Mapped[datetime | None]
    used_by_user_id: Mapped[int | None] = mapped_column(index=True)
    # A newer code for the same meter replaces the older, unused ones.
    revoked_at: Mapped[datetime | None]


class ActivationAttempt(Base):
    """A code entered by an account: wrong ones are throttled per account."""

    __tablename__ = "energy_activation_attempts"
    __table_args__ = (
        Index("ix_energy_activation_attempts_user_at", "user_id", "at"),
        {"info": {"personal": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int]
    at: Mapped[datetime]
    success: Mapped[bool]
