"""energy: grid studies remember their load source (standard profiles or aggregated meter data)

Revision ID: 0003_energy
Revises: 0002_energy
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_energy"
down_revision: str | None = "0002_energy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("energy_grid_studies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("load_source", sa.String(length=16), server_default="profiles", nullable=False)
        )
        batch_op.add_column(sa.Column("meter_share", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("meter_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("energy_grid_studies", schema=None) as batch_op:
        batch_op.drop_column("meter_count")
        batch_op.drop_column("meter_share")
        batch_op.drop_column("load_source")
