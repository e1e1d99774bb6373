"""running scores keep their decayed sums (n, s1, s2) for signed scoring

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Scores became signed Spearman ρ (chance 0) instead of an EMA of ``(ρ+1)/2`` (chance 0.5). The
two scales do not convert (the old EMA started at 0 and clipped every task), so every miner
starts again from zero: existing rows keep their key but get ``n = s1 = s2 = score = 0``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("running_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("n", sa.Float(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("s1", sa.Float(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("s2", sa.Float(), server_default="0", nullable=False))
    op.execute(sa.text("UPDATE running_scores SET score = 0"))


def downgrade() -> None:
    with op.batch_alter_table("running_scores", schema=None) as batch_op:
        batch_op.drop_column("s2")
        batch_op.drop_column("s1")
        batch_op.drop_column("n")
