"""twin schema: the asset registry

Revision ID: 0001_twin
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import stadtkern.db.base

revision: str = "0001_twin"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("twin",)
depends_on: str | Sequence[str] | None = "0001_sensorthings"


def upgrade() -> None:
    op.create_table(
        "twin_assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("type_key", sa.String(length=64), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("thing_id", sa.Integer(), nullable=True),
        sa.Column("created_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_twin_assets")),
        sa.UniqueConstraint("code", name=op.f("uq_twin_assets_code")),
    )
    with op.batch_alter_table("twin_assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_twin_assets_district_code"), ["district_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_twin_assets_thing_id"), ["thing_id"], unique=False)
        batch_op.create_index("ix_twin_assets_type_district", ["type_key", "district_code"], unique=False)

    op.create_table(
        "twin_asset_datastreams",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("datastream_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["twin_assets.id"],
            name=op.f("fk_twin_asset_datastreams_asset_id_twin_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "key", name=op.f("pk_twin_asset_datastreams")),
        sa.UniqueConstraint("datastream_id", name=op.f("uq_twin_asset_datastreams_datastream_id")),
    )
    op.create_table(
        "twin_asset_types",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("sensor_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_twin_asset_types")),
    )


def downgrade() -> None:
    op.drop_table("twin_asset_types")
    op.drop_table("twin_asset_datastreams")
    with op.batch_alter_table("twin_assets", schema=None) as batch_op:
        batch_op.drop_index("ix_twin_assets_type_district")
        batch_op.drop_index(batch_op.f("ix_twin_assets_thing_id"))
        batch_op.drop_index(batch_op.f("ix_twin_assets_district_code"))
    op.drop_table("twin_assets")
