"""alerts schema: rules, evaluation state, alerts, on-call rota

Revision ID: 0001_alerts
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import stadtkern.db.base

revision: str = "0001_alerts"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("alerts",)
depends_on: str | Sequence[str] | None = "0001_twin"


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("type_key", sa.String(length=64), nullable=False),
        sa.Column("stream_key", sa.String(length=64), nullable=True),
        sa.Column("asset_code", sa.String(length=80), nullable=True),
        sa.Column("organisation", sa.String(length=64), nullable=True),
        sa.Column("comparison", sa.String(length=8), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("hysteresis", sa.Float(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("default_key", sa.String(length=120), nullable=True),
        sa.Column("created_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("default_key", name=op.f("uq_alert_rules_default_key")),
    )
    with op.batch_alter_table("alert_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_rules_organisation"), ["organisation"], unique=False)

    op.create_table(
        "alert_rota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("starts_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_alert_rota_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rota")),
        info={"personal": True},
    )
    with op.batch_alter_table("alert_rota", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alert_rota_organisation_time", ["organisation", "starts_at", "ends_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alert_rota_user_id"), ["user_id"], unique=False)

    op.create_table(
        "alert_stream_states",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("datastream_id", sa.Integer(), nullable=False),
        sa.Column("last_time", stadtkern.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["alert_rules.id"],
            name=op.f("fk_alert_stream_states_rule_id_alert_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", "datastream_id", name=op.f("pk_alert_stream_states")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("datastream_id", sa.Integer(), nullable=False),
        sa.Column("stream_key", sa.String(length=64), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("asset_code", sa.String(length=80), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("raised_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("acknowledged_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledge_note", sa.Text(), nullable=True),
        sa.Column("resolved_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolve_note", sa.Text(), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["users.id"],
            name=op.f("fk_alerts_acknowledged_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.id"], name=op.f("fk_alerts_resolved_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"], ["alert_rules.id"], name=op.f("fk_alerts_rule_id_alert_rules"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        info={"personal": True},
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_asset_code"), ["asset_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_raised_at"), ["raised_at"], unique=False)
        batch_op.create_index("ix_alerts_rule_stream", ["rule_id", "datastream_id"], unique=False)
        batch_op.create_index("ix_alerts_state_organisation", ["state", "organisation"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_state_organisation")
        batch_op.drop_index("ix_alerts_rule_stream")
        batch_op.drop_index(batch_op.f("ix_alerts_raised_at"))
        batch_op.drop_index(batch_op.f("ix_alerts_asset_code"))

    op.drop_table("alerts")
    op.drop_table("alert_stream_states")
    with op.batch_alter_table("alert_rota", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_rota_user_id"))
        batch_op.drop_index("ix_alert_rota_organisation_time")

    op.drop_table("alert_rota")
    with op.batch_alter_table("alert_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_rules_organisation"))

    op.drop_table("alert_rules")
