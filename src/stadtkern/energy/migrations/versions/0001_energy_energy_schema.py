"""energy schema: day-ahead price stream, meter activation codes and attempts

Revision ID: 0001_energy
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import stadtkern.db.base

revision: str = "0001_energy"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("energy",)
depends_on: str | Sequence[str] | None = "0001_core"


def upgrade() -> None:
    op.create_table(
        "energy_price_streams",
        sa.Column("bidding_zone", sa.String(length=16), nullable=False),
        sa.Column("datastream_id", sa.Integer(), nullable=False),
        sa.Column("created_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bidding_zone", name=op.f("pk_energy_price_streams")),
        sa.UniqueConstraint("datastream_id", name=op.f("uq_energy_price_streams_datastream_id")),
    )
    op.create_table(
        "energy_activation_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meter_code", sa.String(length=80), nullable=False),
        sa.Column("datastream_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("used_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_by_user_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_activation_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_energy_activation_codes_code_hash")),
        info={"personal": True},
    )
    with op.batch_alter_table("energy_activation_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_energy_activation_codes_datastream_id"), ["datastream_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_energy_activation_codes_meter_code"), ["meter_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_energy_activation_codes_used_by_user_id"), ["used_by_user_id"], unique=False
        )
    op.create_table(
        "energy_activation_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_activation_attempts")),
        info={"personal": True},
    )
    with op.batch_alter_table("energy_activation_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_energy_activation_attempts_user_at", ["user_id", "at"], unique=False)


def downgrade() -> None:
    op.drop_table("energy_activation_attempts")
    op.drop_table("energy_activation_codes")
    op.drop_table("energy_price_streams")
