"""energy: grid studies (neighbourhood grid analysis)

Revision ID: 0002_energy
Revises: 0001_energy
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import stadtkern.db.base

revision: str = "0002_energy"
down_revision: str | None = "0001_energy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:  # JSON on SQLite, JSONB on PostgreSQL
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "energy_grid_studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_code", sa.String(length=64), nullable=False),
        sa.Column("district_code", sa.String(length=16), nullable=False),
        sa.Column("scenario", _json(), nullable=False),
        sa.Column("start", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("backend", sa.String(length=32), nullable=True),
        sa.Column("created_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", stadtkern.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("summary", _json(), nullable=True),
        sa.Column("lines", _json(), nullable=True),
        sa.Column("buses", _json(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_energy_grid_studies")),
    )
    with op.batch_alter_table("energy_grid_studies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_energy_grid_studies_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("energy_grid_studies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_energy_grid_studies_status"))
    op.drop_table("energy_grid_studies")
