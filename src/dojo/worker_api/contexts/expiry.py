"""Writing ``expired`` on tasks past their deadline (the background job's one step), and counts by status."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.worker_api import lifecycle
from dojo.worker_api.store.models import Result, Task, utcnow


async def expire_overdue(session: AsyncSession) -> int:
    """Store ``expired`` on every open task whose deadline has passed; returns how many.

    Readers never wait for this: they see the effective status (``lifecycle.effective_status``)."""
    result = await session.execute(
        update(Task)
        .where(*lifecycle.overdue_sql(utcnow()))
        .values(status=lifecycle.TaskState.expired.value)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def counts(session: AsyncSession) -> tuple[dict[str, int], int]:
    """Tasks by stored status (what the sweep has written: an overdue open task counts as open until it runs)
    and the number of results, for /metrics."""
    rows = await session.execute(select(Task.status, func.count()).group_by(Task.status))
    by_status = {s: 0 for s in lifecycle.STATUSES}
    by_status.update({status: int(n) for status, n in rows})
    results = (await session.execute(select(func.count(Result.id)))).scalar_one()
    return by_status, int(results)
