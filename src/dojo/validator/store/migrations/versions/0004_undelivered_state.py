"""a task no miner accepted is ``undelivered``, no longer ``expired``

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

"Expired" means one thing across the project: a deadline passed. A validator task that no miner
accepted never had a deadline run out, so its state gets its own word (``dojo.validator.states``).
Only stored values change; the column is a plain string.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text("UPDATE tasks SET state = 'undelivered' WHERE state = 'expired'"))


def downgrade() -> None:
    op.execute(sa.text("UPDATE tasks SET state = 'expired' WHERE state = 'undelivered'"))
