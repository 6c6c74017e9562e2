"""Tables of the alerts: rules, their per-Datastream evaluation state, the alerts raised, the on-call rota.

References into the twin (asset ids) and SensorThings (Datastream ids) carry no foreign keys: those
modules own their tables. Alerts and rota entries name staff accounts (who acknowledged, who is on call),
so both are personal data covered by ``privacy.AlertPrivacy``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from stadtkern.db.base import Base

THRESHOLD = "threshold"
RATE = "rate"
NO_DATA = "no_data"
KINDS = (THRESHOLD, RATE, NO_DATA)
ABOVE = "above"
BELOW = "below"
COMPARISONS = (ABOVE, BELOW)
SEVERITIES = ("info", "warning", "critical")

OPEN = "open"
ACKNOWLEDGED = "acknowledged"
RESOLVED = "resolved"
STATES = (OPEN, ACKNOWLEDGED, RESOLVED)
# How a resolved alert ended: its condition cleared by itself, or a person closed it.
CLEARED = "cleared"
MANUAL = "manual"


class AlertRule(Base):
    """What to watch: an asset type's Datastream (all assets of the type, or one asset), and the condition.

    ``organisation`` None: the rule covers the assets of every organisation (only admins make those).
    ``stream_key`` None: every Datastream of the type (no-data rules only).
    """

    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    type_key: Mapped[str] = mapped_column(String(64))
    stream_key: Mapped[str | None] = mapped_column(String(64))
    asset_code: Mapped[str | None] = mapped_column(String(80))
    organisation: Mapped[str | None] = mapped_column(String(64), index=True)
    comparison: Mapped[str | None] = mapped_column(String(8))
    threshold: Mapped[float | None] = mapped_column(Float)
    hysteresis: Mapped[float] = mapped_column(Float, default=0.0)
    minutes: Mapped[int | None]
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    enabled: Mapped[bool] = mapped_column(default=True)
    # Set on the rules created by default (seed): re-seeding finds them and adds nothing twice.
    default_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StreamState(Base):
    """Where the evaluation of one rule on one Datastream stands: the last reading seen, raised or not."""

    __tablename__ = "alert_stream_states"

    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True)
    datastream_id: Mapped[int] = mapped_column(primary_key=True)
    last_time: Mapped[datetime | None]
    last_value: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(default=False)


class Alert(Base):
    """One raised alert: open, acknowledged (who, when, note) and finally resolved."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_state_organisation", "state", "organisation"),
        Index("ix_alerts_rule_stream", "rule_id", "datastream_id"),
        {"info": {"personal": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    datastream_id: Mapped[int]
    stream_key: Mapped[str] = mapped_column(String(64))
    asset_id: Mapped[int]
    asset_code: Mapped[str] = mapped_column(String(80), index=True)
    organisation: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    # When the condition began: the violating reading's time, or the moment the data became overdue.
    raised_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]
    value: Mapped[float | None] = mapped_column(Float)
    last_value: Mapped[float | None] = mapped_column(Float)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledge_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolve_note: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(String(16))


class RotaEntry(Base):
    """An operator on call for an organisation from ``starts_at`` until (not including) ``ends_at``."""

    __tablename__ = "alert_rota"
    __table_args__ = (
        Index("ix_alert_rota_organisation_time", "organisation", "starts_at", "ends_at"),
        {"info": {"personal": True}},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


RULES = _table(AlertRule)
STATES_TABLE = _table(StreamState)
ALERTS = _table(Alert)
ROTA = _table(RotaEntry)
