"""A task closed by its miner's feedback before its deadline is ``closed``, no longer ``expired``.

``expired`` now means one thing: the deadline passed while the task was open (see
``dojo.worker_api.lifecycle``). Rows that feedback closed early are rewritten; no column changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE tasks SET status = 'closed' "
        "WHERE status = 'expired' AND feedback_at IS NOT NULL AND feedback_at < expire_at"
    )


def downgrade() -> None:
    op.execute("UPDATE tasks SET status = 'expired' WHERE status = 'closed'")
