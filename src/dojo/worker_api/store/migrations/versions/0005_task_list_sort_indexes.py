"""Indexes led by each sort key, so every filter and sort of the labeller's task list reads a page in index order.

``status=all`` and ``status=expired`` (an open task past its deadline counts as expired) cannot use
the status-led indexes of 0002 in order; they walk these sort-led ones, filtering on the covered
status, deadline and miner columns. ``most_answered`` gets a status-led and a sort-led index too.
The criteria type becomes a column, ``kind``: a filter on a JSON expression has no statistics, so
PostgreSQL guessed it rare and sorted the whole list rather than walk an index.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_tasks_all_created": ["created_at", "id", "status", "expire_at", "miner_id", "kind"],
    "ix_tasks_all_expire": ["expire_at", "id", "status", "created_at", "miner_id", "kind"],
    "ix_tasks_all_answered": ["result_count", "created_at", "id", "status", "expire_at", "miner_id", "kind"],
    "ix_tasks_list_answered": ["status", "result_count", "created_at", "id", "expire_at", "miner_id", "kind"],
}
# 0002's status-led indexes, now covering ``kind`` too
REPLACED = {
    "ix_tasks_list_created": ["status", "created_at", "id", "expire_at", "miner_id"],
    "ix_tasks_list_expire": ["status", "expire_at", "id", "created_at", "miner_id"],
}


def upgrade() -> None:
    op.add_column("tasks", sa.Column("kind", sa.String(16), nullable=False, server_default="score"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE tasks SET kind = criteria ->> 'type' WHERE criteria ->> 'type' IS NOT NULL")
    else:
        op.execute(
            "UPDATE tasks SET kind = json_extract(criteria, '$.type') WHERE json_extract(criteria, '$.type') IS NOT NULL"
        )
    for name, columns in REPLACED.items():
        op.drop_index(name, table_name="tasks")
        op.create_index(name, "tasks", [*columns, "kind"])
    for name, columns in INDEXES.items():
        op.create_index(name, "tasks", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="tasks")
    for name, columns in REPLACED.items():
        op.drop_index(name, table_name="tasks")
        op.create_index(name, "tasks", columns)
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("kind")
