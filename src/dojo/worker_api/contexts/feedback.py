"""The miner's feedback on a task (score, ground truth, per-labeller grades) turned into labeller grades."""

from __future__ import annotations

import math

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.protocol import Feedback
from dojo.worker_api.contexts.tasks import owned_task
from dojo.worker_api.envelope import ApiError
from dojo.worker_api.store.models import Labeller, LabellerGrade, Result, TaskStatus, utcnow


def agreement(values: dict[str, float], ground_truth: dict[str, int], ranking: bool) -> float:
    """How well a labeller's values match the true order: Spearman ρ mapped to [0, 1], 0 if constant."""
    from scipy.stats import spearmanr

    ids = sorted(ground_truth)
    if any(i not in values for i in ids) or len(ids) < 2:
        return 0.0
    mine = [(-values[i] if ranking else values[i]) for i in ids]  # higher = better
    truth = [-ground_truth[i] for i in ids]  # rank 0 = best
    if len(set(mine)) < 2 or len(set(truth)) < 2:
        return 0.0
    rho = float(spearmanr(mine, truth).statistic)
    return 0.0 if math.isnan(rho) else (rho + 1.0) / 2.0


async def apply_feedback(session: AsyncSession, miner_id: int, task_id: str, feedback: Feedback) -> int:
    """Store the feedback and (re)write one grade per labeller who answered; returns how many."""
    task = await owned_task(session, miner_id, task_id)
    truth = {str(k): int(v) for k, v in feedback.ground_truth.items()}
    completion_ids = {r["completion_id"] for r in task.responses}
    if truth and set(truth) != completion_ids:
        raise ApiError(422, "ground_truth must give one rank per completion id of the task")
    ranking = task.criteria.get("type") == "ranking"
    rows = (
        await session.execute(
            select(Result.labeller_id, Labeller.address, Result.scores)
            .join(Labeller, Labeller.id == Result.labeller_id)
            .where(Result.task_id == task_id)
        )
    ).all()
    given = {k.lower(): v for k, v in feedback.per_labeller.items()}
    await session.execute(delete(LabellerGrade).where(LabellerGrade.task_id == task_id))
    now = utcnow()
    for labeller_id, address, scores in rows:
        grade = given.get(address.lower())
        if grade is None:
            grade = agreement(scores, truth, ranking) if truth else None
        if grade is not None:
            session.add(LabellerGrade(task_id=task_id, labeller_id=labeller_id, grade=float(grade), created_at=now))
    task.feedback_score = feedback.score
    task.ground_truth = truth or None
    task.feedback_at = now
    if task.status == TaskStatus.open.value:  # the truth is out: no more answers
        task.status = TaskStatus.expired.value
    await session.commit()
    return len(rows)
