"""The rule "may this labeller see this task": only tasks of miners the labeller is linked to
through a subscription key that is not deleted. Every labeller query (list, fetch, submission)
filters by :func:`linked_miner_ids`; :func:`visible_task` is the rule on its own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.worker_api.store.models import Partnership, SubscriptionKey, Task


def linked_miner_ids(labeller_id: Any) -> Select[int]:
    """Subquery: ids of the miners the labeller is linked to by a live subscription key.

    ``labeller_id`` is an id or a bound parameter (statements built once and reused)."""
    return (
        select(SubscriptionKey.miner_id)
        .join(Partnership, Partnership.subscription_key_id == SubscriptionKey.id)
        .where(Partnership.labeller_id == labeller_id, SubscriptionKey.deleted_at.is_(None))
    )


async def visible_task(session: AsyncSession, labeller_id: int, task_id: str) -> Task | None:
    """The task if the labeller may see it, else None (callers answer 404 either way)."""
    row = await session.execute(
        select(Task).where(Task.id == task_id, Task.miner_id.in_(linked_miner_ids(labeller_id)))
    )
    return row.scalar_one_or_none()
