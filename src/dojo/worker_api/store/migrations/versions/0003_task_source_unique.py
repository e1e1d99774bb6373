"""One task per (miner, source task id): a miner retrying a creation gets the task it already made.

Rows that already repeat a (miner, source task id) pair keep their data: every copy but the oldest
gets its own worker id as its source id (a fresh UUID, so it can never match a retry).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE tasks SET source_task_id = id WHERE EXISTS ("
        " SELECT 1 FROM tasks AS older WHERE older.miner_id = tasks.miner_id"
        " AND older.source_task_id = tasks.source_task_id"
        " AND (older.created_at < tasks.created_at OR (older.created_at = tasks.created_at AND older.id < tasks.id)))"
    )
    op.create_index("uq_tasks_miner_source", "tasks", ["miner_id", "source_task_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_tasks_miner_source", table_name="tasks")
