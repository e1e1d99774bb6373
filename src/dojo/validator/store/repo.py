"""The validator store's steps: each public method is one transaction, so a kill leaves a resumable state."""

from __future__ import annotations

from datetime import datetime, timedelta
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
    MinerState,
    MinerTarget,
    NewAssignment,
    NewTask,
    RoundForScoring,
    RoundScores,
    ScoredAssignment,
    TaskForScoring,
)

#: prefix of the error of a copy whose results could not be read yet and will be asked for again
COLLECT_RETRY = "collect: "


def _collect_due(a: Assignment, deadline: datetime, now: datetime, backoff_s: float, grace_s: float) -> bool:
    """Whether a dispatched copy should be read now: never tried, or its backoff (doubling) is over."""
    if not (a.error or "").startswith(COLLECT_RETRY):
        return True
    waited = max(backoff_s, (a.updated_at - deadline).total_seconds())
    last_chance = deadline + timedelta(seconds=grace_s)
    return now >= min(a.updated_at + timedelta(seconds=waited), last_chance)


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

    def external_load(self, first_round: int) -> dict[str, tuple[int, int]]:
        """Per hotkey, its ``(tasks, external tasks)`` in rounds from ``first_round`` on (the external cap's window)."""
        is_external = sa.case((Task.source == "external", 1), else_=0)
        with self.transaction() as s:
            rows = s.execute(
                sa.select(Assignment.hotkey, sa.func.count(), sa.func.coalesce(sa.func.sum(is_external), 0))
                .join(Task, Task.id == Assignment.task_id)
                .where(Task.round_id >= first_round)
                .group_by(Assignment.hotkey)
            ).all()
            return {str(hk): (int(n), int(ext)) for hk, n, ext in rows}

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
        elif task.source != "external" and ValidatorStore._round_reached_miners(s, task.round_id):
            # a per-miner instance its miner refused: it scores 0 like any task left unlabelled (else
            # refusing hard tasks would pay); only when the validator did reach other miners this round
            advance_task(task, TaskState.dispatched)
            task.deadline_at = max(a.expire_at for a in task.assignments)
        else:
            advance_task(task, TaskState.expired)
            if task.external_id is not None:  # nobody took it: the requester may submit again
                req = s.get(ExternalRequest, task.external_id)
                if req is not None:
                    req.state, req.updated_at = "failed", utcnow()

    @staticmethod
    def _round_reached_miners(s: Session, round_id: int) -> bool:
        """Whether some copy of the round was accepted by its miner (so the validator's sending works)."""
        accepted = [st.value for st in SENT_STATES if st is not AssignmentState.dispatch_failed]
        found = s.scalar(
            sa.select(Assignment.id)
            .join(Task, Task.id == Assignment.task_id)
            .where(Task.round_id == round_id, Assignment.state.in_(accepted))
            .limit(1)
        )
        return found is not None

    # ---- collect -------------------------------------------------------------------------

    def due_for_collect(
        self, now: datetime, backoff_s: float = 0.0, grace_s: float = 0.0
    ) -> dict[str, list[AssignmentView]]:
        """Dispatched tasks past their deadline: ``{task_id: [copies to read now]}``.

        A copy whose last read failed (it stays ``dispatched`` with a ``collect:`` error, see
        :meth:`record_collect`) is due again once it has waited as long as the time between the deadline
        and that attempt (at least ``backoff_s``: the waits double), and at the latest at deadline + grace.
        """
        with self.transaction() as s:
            tasks = s.scalars(
                sa.select(Task)
                .where(Task.state == TaskState.dispatched.value, Task.deadline_at <= now)
                .options(selectinload(Task.assignments))
                .order_by(Task.round_id, Task.position)
            ).all()
            due: dict[str, list[AssignmentView]] = {}
            for t in tasks:
                assert t.deadline_at is not None  # selected by it
                views = [
                    _view(a, t.criteria)
                    for a in t.assignments
                    if a.state == AssignmentState.dispatched.value
                    and _collect_due(a, t.deadline_at, now, backoff_s, grace_s)
                ]
                waiting = any(a.state == AssignmentState.dispatched.value for a in t.assignments)
                if views or not waiting:  # no copy to read at all (refused ones only): record_collect settles it
                    due[t.id] = views
            return due

    def record_collect(
        self,
        task_id: str,
        outcomes: dict[int, CollectOutcome],
        now: datetime | None = None,
        grace_s: float = 0.0,
        retryable: frozenset[int] = frozenset(),
    ) -> list[int]:
        """Store the results read for a task's copies and mark the task collected when all are done.

        A failed read of a copy in ``retryable`` (the miner was unreachable, not wrong) before deadline +
        ``grace_s`` leaves the copy ``dispatched`` with its error noted, to be read again; any other
        failure is final (``collect_failed``: it scores 0). Returns the copies left to read again.
        """
        now = now or utcnow()
        again: list[int] = []
        with self.transaction() as s:
            task = s.get(Task, task_id, options=[selectinload(Task.assignments)])
            if task is None or task.state != TaskState.dispatched.value:
                return again
            until = (task.deadline_at or now) + timedelta(seconds=grace_s)
            for a in task.assignments:
                out = outcomes.get(a.id)
                if out is None or a.state != AssignmentState.dispatched.value:
                    continue
                if out.error is not None and a.id in retryable and now < until:
                    a.error = f"{COLLECT_RETRY}{out.error}"[:512]
                    a.updated_at = now  # when it was last tried: the backoff counts from here
                    again.append(a.id)
                    continue
                if out.error is not None:
                    advance_assignment(a, AssignmentState.collect_failed)
                    a.error = out.error[:512]
                else:
                    advance_assignment(a, AssignmentState.collected)
                    a.error = None
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
        return again

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
            running = {(r.uid, r.hotkey): MinerState(r.n, r.s1, r.s2) for r in s.scalars(sa.select(RunningScore)).all()}
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
            for (uid, hotkey), st in scores.running.items():
                row = s.get(RunningScore, (uid, hotkey))
                if row is None:
                    row = RunningScore(uid=uid, hotkey=hotkey)
                    s.add(row)
                row.score, row.n, row.s1, row.s2 = st.mean, st.n, st.s1, st.s2
                row.last_round, row.updated_at = rnd.id, now
            for ext_id, result in scores.external_results.items():
                req = s.get(ExternalRequest, ext_id)
                if req is not None:
                    req.state, req.result, req.updated_at = "done", result, now
            return True

    # ---- feedback ------------------------------------------------------------------------

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

    # ---- scores and weights --------------------------------------------------------------

    def running_scores(self) -> dict[tuple[int, str], float]:
        """Every miner's running score (the signed running mean), keyed by (uid, hotkey)."""
        with self.transaction() as s:
            return {(r.uid, r.hotkey): r.score for r in s.scalars(sa.select(RunningScore)).all()}

    def running_states(self) -> dict[tuple[int, str], MinerState]:
        """Every miner's full running state (decayed count and sums), keyed by (uid, hotkey): what weights use."""
        with self.transaction() as s:
            return {(r.uid, r.hotkey): MinerState(r.n, r.s1, r.s2) for r in s.scalars(sa.select(RunningScore)).all()}

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

    # ---- operator's view (dojo status) -----------------------------------------------------

    def recent_rounds(self, limit: int = 5) -> list[dict[str, Any]]:
        """The last ``limit`` rounds, newest first: state, times, tasks and their copies by state."""
        with self.transaction() as s:
            rounds = s.scalars(sa.select(Round).order_by(Round.id.desc()).limit(limit)).all()
            ids = [r.id for r in rounds]
            tasks = s.execute(
                sa.select(Task.round_id, Task.source, sa.func.count())
                .where(Task.round_id.in_(ids))
                .group_by(Task.round_id, Task.source)
            ).all()
            copies = s.execute(
                sa.select(Task.round_id, Assignment.state, sa.func.count())
                .join(Assignment, Assignment.task_id == Task.id)
                .where(Task.round_id.in_(ids))
                .group_by(Task.round_id, Assignment.state)
            ).all()
        out: dict[int, dict[str, Any]] = {
            r.id: {
                "id": r.id,
                "state": r.state,
                "created_at": r.created_at,
                "scored_at": r.scored_at,
                "tasks": {},
                "copies": {},
            }
            for r in rounds
        }
        for round_id, source, n in tasks:
            out[round_id]["tasks"][str(source)] = int(n)
        for round_id, state, n in copies:
            out[round_id]["copies"][str(state)] = int(n)
        return [out[i] for i in ids]

    def miner_activity(self, rounds: int = 5) -> list[dict[str, Any]]:
        """Per miner sent a copy in the last ``rounds`` rounds: uid, hotkey and its copies by state."""
        with self.transaction() as s:
            first = s.scalar(sa.select(sa.func.max(Round.id))) or 0
            rows = s.execute(
                sa.select(Assignment.uid, Assignment.hotkey, Assignment.state, sa.func.count())
                .join(Task, Assignment.task_id == Task.id)
                .where(Task.round_id > first - rounds)
                .group_by(Assignment.uid, Assignment.hotkey, Assignment.state)
            ).all()
        miners: dict[tuple[int, str], dict[str, Any]] = {}
        for uid, hotkey, state, n in rows:
            m = miners.setdefault((int(uid), str(hotkey)), {"uid": int(uid), "hotkey": str(hotkey), "copies": {}})
            m["copies"][str(state)] = int(n)
        return sorted(miners.values(), key=lambda m: (m["uid"], m["hotkey"]))

    def recent_weight_submissions(self, limit: int = 5) -> list[WeightSubmission]:
        """The last ``limit`` weight submissions, newest first."""
        with self.transaction() as s:
            return list(s.scalars(sa.select(WeightSubmission).order_by(WeightSubmission.id.desc()).limit(limit)).all())

    def last_weights_set(self) -> WeightSubmission | None:
        """The last successful weight submission."""
        with self.transaction() as s:
            return s.scalar(
                sa.select(WeightSubmission)
                .where(WeightSubmission.status == "ok")
                .order_by(WeightSubmission.id.desc())
                .limit(1)
            )

    def running_rows(self) -> list[RunningScore]:
        """Every miner's running-score row (score, decayed count, last round, when)."""
        with self.transaction() as s:
            return list(s.scalars(sa.select(RunningScore)).all())

    def external_queue(self) -> dict[str, Any]:
        """External-task requests by state, and when the oldest still queued came in."""
        with self.transaction() as s:
            rows = s.execute(sa.select(ExternalRequest.state, sa.func.count()).group_by(ExternalRequest.state)).all()
            oldest = s.scalar(
                sa.select(sa.func.min(ExternalRequest.created_at)).where(ExternalRequest.state == "queued")
            )
        return {"states": {str(state): int(n) for state, n in rows}, "oldest_queued_at": oldest}
