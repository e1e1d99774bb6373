"""Moving tasks past their deadline to ``expired`` (the background job's one step)."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.worker_api.store.models import Result, Task, TaskStatus, utcnow


async def expire_overdue(session: AsyncSession) -> int:
    """Mark every open task whose deadline has passed as expired; returns how many."""
    result = await session.execute(
        update(Task)
        .where(Task.status == TaskStatus.open.value, Task.expire_at <= utcnow())
        .values(status=TaskStatus.expired.value)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def counts(session: AsyncSession) -> tuple[dict[str, int], int]:
    """Tasks by status and the number of results, for /metrics."""
    rows = await session.execute(select(Task.status, func.count()).group_by(Task.status))
    by_status = {s.value: 0 for s in TaskStatus}
    by_status.update({status: int(n) for status, n in rows})
    results = (await session.execute(select(func.count(Result.id)))).scalar_one()
    return by_status, int(results)
