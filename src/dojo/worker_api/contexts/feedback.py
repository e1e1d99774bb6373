"""The miner's feedback on a task (score, ground truth, per-labeller grades) turned into labeller grades."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from dojo import scoring
from dojo.errors import ApiError
from dojo.protocol import AnyCriterion, Feedback, as_criterion
from dojo.worker_api import lifecycle
from dojo.worker_api.contexts.tasks import owned_task
from dojo.worker_api.store.models import Labeller, LabellerGrade, Result, utcnow


def grades(
    criteria: AnyCriterion, answers: Sequence[Mapping[str, float]], ground_truth: Mapping[str, int]
) -> list[float]:
    """Each answer's grade against the true order (rank 0 = best): the validator's labeller grade,
    :func:`dojo.scoring.labeller_grades` — Spearman ρ mapped to [0, 1] — and 0 where it has none
    (a constant answer, a missing value, a truth with no order)."""
    ids = sorted(ground_truth)
    if not answers or not ids:
        return [0.0] * len(answers)
    values = np.array([[float(a.get(i, np.nan)) for i in ids] for a in answers])[None, None]  # [1, 1, L, C]
    better = scoring.higher_is_better(values, [criteria], [len(ids)])
    graded = scoring.labeller_grades(better, np.array([[ground_truth[i] for i in ids]], dtype=np.float64))
    return [float(g) for g in np.nan_to_num(graded[0, 0], nan=0.0)]


async def apply_feedback(session: AsyncSession, miner_id: int, task_id: str, feedback: Feedback) -> int:
    """Store the feedback and (re)write one grade per labeller who answered; returns how many."""
    task = await owned_task(session, miner_id, task_id)
    truth = {str(k): int(v) for k, v in feedback.ground_truth.items()}
    completion_ids = {r["completion_id"] for r in task.responses}
    if truth and set(truth) != completion_ids:
        raise ApiError(422, "ground_truth must give one rank per completion id of the task")
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
    computed = grades(as_criterion(task.criteria), [scores for _, _, scores in rows], truth) if truth else []
    for i, (labeller_id, address, _) in enumerate(rows):
        grade = given.get(address.lower())
        if grade is None and computed:
            grade = computed[i]
        if grade is not None:
            session.add(LabellerGrade(task_id=task_id, labeller_id=labeller_id, grade=float(grade), created_at=now))
    task.feedback_score = feedback.score
    task.ground_truth = truth or None
    task.feedback_at = now
    lifecycle.on_feedback(task, now)  # the truth is out: an open task takes no more answers
    await session.commit()
    return len(rows)
