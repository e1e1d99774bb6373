"""A labeller's own record: tasks answered and the grades miners fed back, overall and per miner (read-only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.worker_api.store.models import LabellerGrade, Miner, Partnership, Result, SubscriptionKey, Task

RECENT = 20
PREVIEW_CHARS = 200


async def labeller_work(session: AsyncSession, labeller_id: int) -> dict[str, Any]:
    """Totals, one row per miner answered for (with the labeller's names for it), and the latest answers."""
    grade_join = and_(LabellerGrade.task_id == Result.task_id, LabellerGrade.labeller_id == labeller_id)
    per_miner = (
        await session.execute(
            select(
                Miner.id,
                Miner.hotkey,
                func.count(Result.id),
                func.count(LabellerGrade.id),
                func.avg(LabellerGrade.grade),
            )
            .select_from(Result)
            .join(Task, Task.id == Result.task_id)
            .join(Miner, Miner.id == Task.miner_id)
            .outerjoin(LabellerGrade, grade_join)
            .where(Result.labeller_id == labeller_id)
            .group_by(Miner.id, Miner.hotkey)
            .order_by(func.count(Result.id).desc(), Miner.hotkey)
        )
    ).all()
    names: dict[int, list[str]] = {}
    for miner_id, name in await session.execute(
        select(SubscriptionKey.miner_id, Partnership.name)
        .join(Partnership, Partnership.subscription_key_id == SubscriptionKey.id)
        .where(Partnership.labeller_id == labeller_id)
        .order_by(Partnership.id)
    ):
        names.setdefault(int(miner_id), []).append(name)
    recent = (
        await session.execute(
            select(Result.task_id, Task.prompt, Result.submitted_at, LabellerGrade.grade, Miner.hotkey)
            .join(Task, Task.id == Result.task_id)
            .join(Miner, Miner.id == Task.miner_id)
            .outerjoin(LabellerGrade, grade_join)
            .where(Result.labeller_id == labeller_id)
            .order_by(Result.submitted_at.desc(), Result.id.desc())
            .limit(RECENT)
        )
    ).all()
    totals = (
        await session.execute(
            select(func.count(Result.id), func.count(LabellerGrade.id), func.avg(LabellerGrade.grade))
            .select_from(Result)
            .outerjoin(LabellerGrade, grade_join)
            .where(Result.labeller_id == labeller_id)
        )
    ).one()
    return {
        "tasks_done": int(totals[0]),
        "graded": int(totals[1]),
        "mean_grade": None if totals[2] is None else float(totals[2]),
        "miners": [
            {
                "miner_hotkey": hotkey,
                "partner_names": names.get(int(mid), []),
                "tasks_done": int(done),
                "graded": int(graded),
                "mean_grade": None if mean is None else float(mean),
            }
            for mid, hotkey, done, graded, mean in per_miner
        ],
        "recent": [
            {
                "task_id": tid,
                "prompt_preview": prompt[:PREVIEW_CHARS],
                "submitted_at": at,
                "grade": None if grade is None else float(grade),
                "miner_hotkey": hotkey,
            }
            for tid, prompt, at, grade, hotkey in recent
        ],
    }
