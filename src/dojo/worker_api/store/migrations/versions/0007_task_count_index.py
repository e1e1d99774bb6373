"""The task list's total counted per linked miner: an index led by ``miner_id`` covering the count's filters.

The total of a labeller's list (``SELECT count(*) … WHERE miner_id IN (linked miners) AND …``) walked
a status-led index and probed the linked-miner list on every entry; led by ``miner_id`` it seeks
each linked miner's range and checks status, deadline and type on the entries themselves. It
replaces ``ix_tasks_miner_status_created`` (same lead columns; nothing read ``created_at`` from it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_tasks_miner_status_created", table_name="tasks")
    op.create_index("ix_tasks_miner_count", "tasks", ["miner_id", "status", "expire_at", "kind"])


def downgrade() -> None:
    op.drop_index("ix_tasks_miner_count", table_name="tasks")
    op.create_index("ix_tasks_miner_status_created", "tasks", ["miner_id", "status", "created_at"])
