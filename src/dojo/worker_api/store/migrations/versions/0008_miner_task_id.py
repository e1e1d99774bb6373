"""The miner's id of a task is ``miner_task_id`` in the store too (it was ``source_task_id``).

One id, one name across the code (see :mod:`dojo.protocol`): "source task" means a validator's task
before its per-miner copies, which the worker API never sees. The create body keeps its wire name
``task_id``. The unique (miner_id, miner_task_id) index that makes creation idempotent is kept,
under a name that follows the column (``uq_tasks_miner_source`` → ``uq_tasks_miner_task``).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _rename(old: str, new: str, old_index: str, new_index: str) -> None:
    # SQLite copies the table (batch mode); PostgreSQL renames the column in place. The unique index is
    # made after the batch: a batch cannot index a column it renames (alembic looks the old name up).
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index(old_index)
        batch.alter_column(old, new_column_name=new, existing_type=sa.String(36), existing_nullable=False)
    op.create_index(new_index, "tasks", ["miner_id", new], unique=True)


def upgrade() -> None:
    _rename("source_task_id", "miner_task_id", "uq_tasks_miner_source", "uq_tasks_miner_task")


def downgrade() -> None:
    _rename("miner_task_id", "source_task_id", "uq_tasks_miner_task", "uq_tasks_miner_source")
