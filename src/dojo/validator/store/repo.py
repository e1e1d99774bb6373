"""The validator store's steps: each public method is one transaction, so a kill leaves a resumable state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from dojo.validator.states import (
    COLLECT_DONE,
    NEEDS_FEEDBACK,
    SENT_STATES,
    AssignmentState,
    RoundState,
    TaskState,
    advance_assignment,
    advance_round,
    advance_task,
)
from dojo.validator.store.db import Database
from dojo.validator.store.models import (
    Assignment,
    ExternalRequest,
    Result,
    Round,
    RunningScore,
    Task,
    TaskScore,
    WeightSubmission,
    utcnow,
)
from dojo.validator.store.records import (
    AssignmentView,
    CollectOutcome,
    FeedbackJob,
    LabelRow,
    MinerTarget,
    NewAssignment,
    NewTask,
    RoundForScoring,
    RoundScores,
    ScoredAssignment,
    TaskForScoring,
)


def _view(a: Assignment, criteria: dict[str, Any] | None = None) -> AssignmentView:
    return AssignmentView(
        id=a.id,
        task_id=a.task_id,
        miner=MinerTarget(uid=a.uid, hotkey=a.hotkey, address=a.address),
        miner_task_id=a.miner_task_id,
        completion_map=dict(a.completion_map),
        payload=dict(a.payload),
        expire_at=a.expire_at,
        state=a.state,
        criteria=dict(criteria or {}),
    )


class ValidatorStore(Database):
    """The validator's persistent state and the atomic steps that change it."""

    # ---- rounds and dispatch -------------------------------------------------------------

    def next_round_id(self) -> int:
        """The number the next round gets (rounds are numbered 1, 2, …)."""
        with self.transaction() as s:
            return int(s.scalar(sa.select(sa.func.coalesce(sa.func.max(Round.id), 0))) or 0) + 1

    def rounds_created(self) -> int:
        """How many rounds exist."""
        with self.transaction() as s:
            return int(s.scalar(sa.select(sa.func.count()).select_from(Round)) or 0)

    def known_tasks(self, task_ids: list[str]) -> set[str]:
        """Which of these task ids the store already holds (a source may serve a task twice)."""
        if not task_ids:
            return set()
        with self.transaction() as s:
            return set(s.scalars(sa.select(Task.id).where(Task.id.in_(task_ids))).all())

    def create_round(self, round_id: int, tasks: list[NewTask], assignments: list[NewAssignment]) -> None:
        """Insert a round, its tasks and every miner's planned copy, all or nothing."""
        now = utcnow()
        with self.transaction() as s:
            s.add(Round(id=round_id, state=RoundState.open.value, created_at=now))
            s.flush()
            for pos, t in enumerate(tasks):
                s.add(
                    Task(
                        id=t.id,
                        round_id=round_id,
                        position=pos,
                        source=t.source,
                        state=TaskState.created.value,
                        prompt=t.prompt,
                        criteria=t.criteria,
                        responses=t.responses,
                        ground_truth=t.ground_truth,
                        created_at=now,
                        external_id=t.external_id,
                    )
                )
                if t.external_id is not None:
                    req = s.get(ExternalRequest, t.external_id)
                    if req is not None:
                        req.state, req.updated_at = "dispatched", now
            s.flush()
            for a in assignments:
                s.add(
                    Assignment(
                        task_id=a.task_id,
                        uid=a.miner.uid,
                        hotkey=a.miner.hotkey,
                        address=a.miner.address,
                        miner_task_id=a.miner_task_id,
                        completion_map=a.completion_map,
                        payload=a.payload,
                        expire_at=a.expire_at,
                        state=AssignmentState.planned.value,
                        feedback_attempts=0,
                        updated_at=now,
                    )
                )

    def planned(self) -> list[AssignmentView]:
        """Copies planned but not yet known to be delivered (including after a crash)."""
        with self.transaction() as s:
            rows = s.scalars(
                sa.select(Assignment).where(Assignment.state == AssignmentState.planned.value).order_by(Assignment.id)
            ).all()
            return [_view(a) for a in rows]

    def refresh_expiry(self, assignment_ids: list[int], expire_at: datetime) -> None:
        """Give planned copies a new deadline (the validator was down past the old one)."""
        if not assignment_ids:
            return
        with self.transaction() as s:
            s.execute(
                sa.update(Assignment)
                .where(Assignment.id.in_(assignment_ids), Assignment.state == AssignmentState.planned.value)
                .values(expire_at=expire_at, updated_at=utcnow())
            )

    def record_dispatch(self, outcomes: dict[int, tuple[str | None, str | None]]) -> None:
        """Write each send's outcome ``{assignment id: (worker_task_id, error)}`` and move finished tasks on."""
        now = utcnow()
        with self.transaction() as s:
            touched: set[str] = set()
            rows = {a.id: a for a in s.scalars(sa.select(Assignment).where(Assignment.id.in_(list(outcomes))))}
            for aid, (worker_task_id, error) in outcomes.items():
                a = rows.get(aid)
                if a is None or a.state != AssignmentState.planned.value:
                    continue
                if worker_task_id is not None:
                    advance_assignment(a, AssignmentState.dispatched)
                    a.worker_task_id = worker_task_id
                else:
                    advance_assignment(a, AssignmentState.dispatch_failed)
                    a.error = (error or "dispatch failed")[:512]
                a.updated_at = now
                touched.add(a.task_id)
            s.flush()
            for task_id in sorted(touched):
                self._settle_dispatch(s, task_id)

    @staticmethod
    def _settle_dispatch(s: Session, task_id: str) -> None:
        task = s.get(Task, task_id, options=[selectinload(Task.assignments)])
        if task is None or task.state != TaskState.created.value:
            return
        states = [AssignmentState(a.state) for a in task.assignments]
        if AssignmentState.planned in states:
            return
        delivered = [a for a in task.assignments if a.state == AssignmentState.dispatched.value]
        if delivered:
            advance_task(task, TaskState.dispatched)
            task.deadline_at = max(a.expire_at for a in delivered)
        else:
            advance_task(task, TaskState.expired)
            if task.external_id is not None:  # nobody took it: the requester may submit again
                req = s.get(ExternalRequest, task.external_id)
                if req is not None:
                    req.state, req.updated_at = "failed", utcnow()

    # ---- collect -------------------------------------------------------------------------

    def due_for_collect(self, now: datetime) -> dict[str, list[AssignmentView]]:
        """Dispatched tasks past their deadline: ``{task_id: [copies still to collect]}``."""
        with self.transaction() as s:
            tasks = s.scalars(
                sa.select(Task)
                .where(Task.state == TaskState.dispatched.value, Task.deadline_at <= now)
                .options(selectinload(Task.assignments))
                .order_by(Task.round_id, Task.position)
            ).all()
            return {
                t.id: [_view(a, t.criteria) for a in t.assignments if a.state == AssignmentState.dispatched.value]
                for t in tasks
            }

    def record_collect(self, task_id: str, outcomes: dict[int, CollectOutcome]) -> None:
        """Store the results read for a task's copies and mark the task collected when all are done."""
        now = utcnow()
        with self.transaction() as s:
            task = s.get(Task, task_id, options=[selectinload(Task.assignments)])
            if task is None or task.state != TaskState.dispatched.value:
                return
            for a in task.assignments:
                out = outcomes.get(a.id)
                if out is None or a.state != AssignmentState.dispatched.value:
                    continue
                if out.error is not None:
                    advance_assignment(a, AssignmentState.collect_failed)
                    a.error = out.error[:512]
                else:
                    advance_assignment(a, AssignmentState.collected)
                    for r in out.rows:
                        s.add(
                            Result(
                                assignment_id=a.id,
                                labeller_id=r.labeller_id,
                                completion_id=r.completion_id,
                                value=r.value,
                                submitted_at=r.submitted_at,
                            )
                        )
                a.fingerprint = out.fingerprint
                a.updated_at = now
            if all(AssignmentState(a.state) in COLLECT_DONE for a in task.assignments):
                advance_task(task, TaskState.collected)

    # ---- scoring -------------------------------------------------------------------------

    def round_to_score(self) -> RoundForScoring | None:
        """The oldest open round once all its tasks are collected (rounds are scored in order)."""
        with self.transaction() as s:
            rnd = s.scalars(
                sa.select(Round).where(Round.state == RoundState.open.value).order_by(Round.id).limit(1)
            ).first()
            if rnd is None:
                return None
            tasks = s.scalars(
                sa.select(Task)
                .where(Task.round_id == rnd.id)
                .options(selectinload(Task.assignments).selectinload(Assignment.results))
                .order_by(Task.position)
            ).all()
            if any(t.state not in (TaskState.collected.value, TaskState.expired.value) for t in tasks):
                return None
            views, assigned = [], []
            for t in tasks:
                views.append(
                    TaskForScoring(
                        id=t.id,
                        state=t.state,
                        source=t.source,
                        criteria=dict(t.criteria),
                        completion_ids=[str(r["completion_id"]) for r in t.responses],
                        ground_truth=dict(t.ground_truth) if t.ground_truth is not None else None,
                        external_id=t.external_id,
                    )
                )
                for a in t.assignments:
                    if AssignmentState(a.state) not in SENT_STATES:
                        continue
                    rows = [LabelRow(r.labeller_id, r.completion_id, r.value, r.submitted_at) for r in a.results]
                    assigned.append(
                        ScoredAssignment(
                            id=a.id,
                            task_id=t.id,
                            uid=a.uid,
                            hotkey=a.hotkey,
                            state=a.state,
                            fingerprint=a.fingerprint,
                            rows=rows,
                        )
                    )
            running = {(r.uid, r.hotkey): r.score for r in s.scalars(sa.select(RunningScore)).all()}
            return RoundForScoring(round_id=rnd.id, tasks=views, assignments=assigned, running=running)

    def record_scores(self, scores: RoundScores) -> bool:
        """Write a round's scores and running scores exactly once; False if it was already scored."""
        now = utcnow()
        with self.transaction() as s:
            rnd = s.get(Round, scores.round_id, with_for_update=True)
            if rnd is None or rnd.state != RoundState.open.value:
                return False
            advance_round(rnd, RoundState.scored)
            rnd.scored_at = now
            for task_id, uid, hotkey, score in scores.task_scores:
                s.add(TaskScore(task_id=task_id, round_id=rnd.id, uid=uid, hotkey=hotkey, score=score, created_at=now))
            graded = s.scalars(sa.select(Assignment).where(Assignment.id.in_(list(scores.labeller_grades)))).all()
            for a in graded:
                a.labeller_grades = scores.labeller_grades[a.id]
            for t in s.scalars(sa.select(Task).where(Task.round_id == rnd.id)).all():
                if t.state == TaskState.collected.value:
                    advance_task(t, TaskState.scored)
                    t.scored_at = now
            for uid, hotkey in scores.dropped:
                s.execute(sa.delete(RunningScore).where(RunningScore.uid == uid, RunningScore.hotkey == hotkey))
            for (uid, hotkey), value in scores.running.items():
                row = s.get(RunningScore, (uid, hotkey))
                if row is None:
                    s.add(RunningScore(uid=uid, hotkey=hotkey, score=value, last_round=rnd.id, updated_at=now))
                else:
                    row.score, row.last_round, row.updated_at = value, rnd.id, now
            for ext_id, result in scores.external_results.items():
                req = s.get(ExternalRequest, ext_id)
                if req is not None:
                    req.state, req.result, req.updated_at = "done", result, now
            return True

    # ---- feedback ------------------------------------------------------------------------

    def feedback_jobs(self) -> list[FeedbackJob]:
        """Feedback still owed to miners on scored tasks (their score, the truth in their ids, grades)."""
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
                for a in t.assignments:
                    if AssignmentState(a.state) not in NEEDS_FEEDBACK:
                        continue
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

    def record_feedback(self, outcomes: dict[int, str | None], max_attempts: int) -> None:
        """``{assignment id: error or None}``; a copy gives up after ``max_attempts`` failures."""
        now = utcnow()
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

    # ---- scores and weights --------------------------------------------------------------

    def running_scores(self) -> dict[tuple[int, str], float]:
        """Every miner's running score, keyed by (uid, hotkey)."""
        with self.transaction() as s:
            return {(r.uid, r.hotkey): r.score for r in s.scalars(sa.select(RunningScore)).all()}

    def last_weights_block(self) -> int | None:
        """The block of the last successful weight submission."""
        with self.transaction() as s:
            return s.scalar(
                sa.select(WeightSubmission.block)
                .where(WeightSubmission.status == "ok")
                .order_by(WeightSubmission.id.desc())
                .limit(1)
            )

    def record_weights(self, block: int, weights: dict[int, float], status: str, message: str | None = None) -> None:
        """Keep one weight submission attempt."""
        with self.transaction() as s:
            s.add(
                WeightSubmission(
                    block=block,
                    weights={str(k): v for k, v in weights.items()},
                    status=status,
                    message=(message or None) and message[:512],
                    created_at=utcnow(),
                )
            )

    def weight_submissions(self) -> list[WeightSubmission]:
        """Every weight submission, oldest first."""
        with self.transaction() as s:
            return list(s.scalars(sa.select(WeightSubmission).order_by(WeightSubmission.id)).all())

    # ---- inspection ----------------------------------------------------------------------

    def task_counts(self) -> dict[str, int]:
        """How many tasks are in each state."""
        with self.transaction() as s:
            rows = s.execute(sa.select(Task.state, sa.func.count()).group_by(Task.state)).all()
            return {str(state): int(n) for state, n in rows}

    def unfinished(self) -> int:
        """Tasks not yet at rest (fed back or expired)."""
        with self.transaction() as s:
            return int(
                s.scalar(
                    sa.select(sa.func.count())
                    .select_from(Task)
                    .where(Task.state.notin_([TaskState.fed_back.value, TaskState.expired.value]))
                )
                or 0
            )
