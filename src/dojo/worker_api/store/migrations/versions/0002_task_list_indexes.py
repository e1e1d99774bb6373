"""Covering indexes for the labeller's task list: count and page ids come from the index alone, in its order.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_list_created", "tasks", ["status", "created_at", "id", "expire_at", "miner_id"])
    op.create_index("ix_tasks_list_expire", "tasks", ["status", "expire_at", "id", "created_at", "miner_id"])
    op.drop_index("ix_tasks_status_expire", table_name="tasks")


def downgrade() -> None:
    op.create_index("ix_tasks_status_expire", "tasks", ["status", "expire_at"])
    op.drop_index("ix_tasks_list_expire", table_name="tasks")
    op.drop_index("ix_tasks_list_created", table_name="tasks")
