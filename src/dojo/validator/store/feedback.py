"""Feedback: what each miner is still owed on scored tasks, and recording its delivery."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from dojo.validator.states import NEEDS_FEEDBACK, AssignmentState, TaskState, advance_assignment, advance_task
from dojo.validator.store.db import Database
from dojo.validator.store.models import Assignment, Task, TaskScore, utcnow
from dojo.validator.store.records import FeedbackJob, MinerTarget


class FeedbackSteps(Database):
    """Feedback jobs with their backoff, and their outcomes."""

    def feedback_jobs(self, now: datetime | None = None, backoff_s: float = 0.0) -> list[FeedbackJob]:
        """Feedback still owed to miners on scored tasks (their score, the truth in their ids, grades).

        A copy whose delivery failed k times waits ``backoff_s`` · 2^(k-1) after the last try (so a miner
        that is down is tried again on later passes, not spent at once). A scored task that owes none
        (its only miner refused it) is put at rest here.
        """
        now = now or utcnow()
        with self.transaction() as s:
            tasks = s.scalars(
                sa.select(Task)
                .where(Task.state == TaskState.scored.value)
                .options(selectinload(Task.assignments))
                .order_by(Task.round_id, Task.position)
            ).all()
            scores = {
                (ts.task_id, ts.hotkey): ts.score
                for ts in s.scalars(sa.select(TaskScore).where(TaskScore.task_id.in_([t.id for t in tasks]))).all()
            }
            jobs: list[FeedbackJob] = []
            for t in tasks:
                if not any(AssignmentState(a.state) in NEEDS_FEEDBACK for a in t.assignments):
                    advance_task(t, TaskState.fed_back)  # nothing owed (its only miner refused it): at rest
                    continue
                for a in t.assignments:
                    if AssignmentState(a.state) not in NEEDS_FEEDBACK:
                        continue
                    if a.feedback_attempts and now < a.updated_at + timedelta(
                        seconds=backoff_s * 2 ** min(a.feedback_attempts - 1, 20)
                    ):
                        continue  # failed before: waiting its turn
                    truth: dict[str, int] = {}
                    if t.ground_truth:
                        back = {orig: mine for mine, orig in a.completion_map.items()}
                        truth = {back[c]: int(rank) for c, rank in t.ground_truth.items() if c in back}
                    jobs.append(
                        FeedbackJob(
                            assignment_id=a.id,
                            task_id=t.id,
                            miner=MinerTarget(a.uid, a.hotkey, a.address),
                            miner_task_id=a.miner_task_id,
                            score=float(scores.get((t.id, a.hotkey), 0.0)),
                            ground_truth=truth,
                            per_labeller=dict(a.labeller_grades or {}),
                        )
                    )
            return jobs

    def record_feedback(self, outcomes: dict[int, str | None], max_attempts: int, now: datetime | None = None) -> None:
        """``{assignment id: error or None}``; a copy gives up after ``max_attempts`` failures."""
        now = now or utcnow()
        with self.transaction() as s:
            touched: set[str] = set()
            rows = {a.id: a for a in s.scalars(sa.select(Assignment).where(Assignment.id.in_(list(outcomes))))}
            for aid, error in outcomes.items():
                a = rows.get(aid)
                if a is None or AssignmentState(a.state) not in NEEDS_FEEDBACK:
                    continue
                if error is None:
                    advance_assignment(a, AssignmentState.fed_back)
                else:
                    a.feedback_attempts += 1
                    a.error = f"feedback: {error}"[:512]
                    if a.feedback_attempts >= max_attempts:
                        advance_assignment(a, AssignmentState.feedback_failed)
                a.updated_at = now
                touched.add(a.task_id)
            s.flush()
            for task_id in sorted(touched):
                task = s.get(Task, task_id, options=[selectinload(Task.assignments)])
                if (
                    task is not None
                    and task.state == TaskState.scored.value
                    and not any(AssignmentState(a.state) in NEEDS_FEEDBACK for a in task.assignments)
                ):
                    advance_task(task, TaskState.fed_back)
