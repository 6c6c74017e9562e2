"""transfers.txt rules narrowed to routes or trips

Revision ID: 0002_mobility
Revises: 0001_mobility
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_mobility"
down_revision: str | None = "0001_mobility"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("from_route_pk", "to_route_pk", "from_trip_pk", "to_trip_pk")


def upgrade() -> None:
    with op.batch_alter_table("mob_transfers") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mob_transfers") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
