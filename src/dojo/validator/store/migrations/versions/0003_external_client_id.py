"""external requests carry the consumer's own id, unique, so a bulk re-run never duplicates

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

``client_id`` is optional (NULL for requests submitted without one); where given it is unique,
and submitting the same ``client_id`` again returns the existing request.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("external_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.String(length=128), nullable=True))
        batch_op.create_unique_constraint("uq_external_client_id", ["client_id"])


def downgrade() -> None:
    with op.batch_alter_table("external_requests", schema=None) as batch_op:
        batch_op.drop_constraint("uq_external_client_id", type_="unique")
        batch_op.drop_column("client_id")
