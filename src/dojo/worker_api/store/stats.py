"""Read-only figures of the worker API store for an operator (``dojo status``): tasks, labellers, results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from dojo.worker_api.store.db import make_engine
from dojo.worker_api.store.models import Labeller, Miner, Result, Task


@dataclass(frozen=True)
class WorkerOverview:
    """Tasks by status, labellers, and the rate of results."""

    tasks: dict[str, int]  # by stored status (dojo.worker_api.lifecycle.TaskState): open, completed, expired, closed
    open_expired: int  # still marked open though past their deadline (the sweep has not run yet)
    miners: int
    labellers: int
    labellers_seen_24h: int  # logged in during the last 24 hours
    labellers_active_1h: int  # submitted a result during the last hour
    results_total: int
    results_last_hour: int
    results_per_hour_24h: float  # mean over the last 24 hours
    last_result_at: datetime | None


async def overview(engine: AsyncEngine, now: datetime | None = None) -> WorkerOverview:
    """The figures at ``now`` (default: the current time), in one read transaction."""
    now = now or datetime.now(timezone.utc)
    hour, day = now - timedelta(hours=1), now - timedelta(hours=24)
    count = sa.func.count
    async with engine.connect() as c:
        statuses = (await c.execute(sa.select(Task.status, count()).group_by(Task.status))).all()
        open_expired = await c.scalar(
            sa.select(count()).select_from(Task).where(Task.status == "open", Task.expire_at < now)
        )
        miners = await c.scalar(sa.select(count()).select_from(Miner))
        labellers = await c.scalar(sa.select(count()).select_from(Labeller))
        seen = await c.scalar(sa.select(count()).select_from(Labeller).where(Labeller.last_login_at >= day))
        active = await c.scalar(
            sa.select(sa.func.count(sa.distinct(Result.labeller_id))).where(Result.submitted_at >= hour)
        )
        total = await c.scalar(sa.select(count()).select_from(Result))
        last_hour = await c.scalar(sa.select(count()).select_from(Result).where(Result.submitted_at >= hour))
        last_day = await c.scalar(sa.select(count()).select_from(Result).where(Result.submitted_at >= day))
        last = await c.scalar(sa.select(sa.func.max(Result.submitted_at)))
    return WorkerOverview(
        tasks={str(status): int(n) for status, n in statuses},
        open_expired=int(open_expired or 0),
        miners=int(miners or 0),
        labellers=int(labellers or 0),
        labellers_seen_24h=int(seen or 0),
        labellers_active_1h=int(active or 0),
        results_total=int(total or 0),
        results_last_hour=int(last_hour or 0),
        results_per_hour_24h=round(int(last_day or 0) / 24, 2),
        last_result_at=last,
    )


async def overview_of(url: str, now: datetime | None = None) -> WorkerOverview:
    """:func:`overview` of the database at ``url``, opened for this call only."""
    engine = make_engine(url, pool_size=1)
    try:
        return await overview(engine, now)
    finally:
        await engine.dispose()
