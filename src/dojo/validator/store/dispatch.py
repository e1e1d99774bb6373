"""Rounds and dispatch: a round's tasks and planned copies go in, each send's outcome comes back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from dojo.protocol import as_criterion
from dojo.validator.states import SENT_STATES, AssignmentState, RoundState, TaskState, advance_assignment, advance_task
from dojo.validator.store.db import Database
from dojo.validator.store.models import Assignment, ExternalRequest, Round, Task, utcnow
from dojo.validator.store.records import AssignmentView, MinerTarget, NewAssignment, NewTask


def assignment_view(a: Assignment, criteria: dict[str, Any] | None = None) -> AssignmentView:
    """The plain record of one copy (with its task's criteria when a step needs them)."""
    return AssignmentView(
        id=a.id,
        task_id=a.task_id,
        miner=MinerTarget(uid=a.uid, hotkey=a.hotkey, address=a.address),
        miner_task_id=a.miner_task_id,
        completion_map=dict(a.completion_map),
        payload=dict(a.payload),
        expire_at=a.expire_at,
        state=a.state,
        criteria=as_criterion(criteria),
    )


class DispatchSteps(Database):
    """Creating rounds and recording what sending their copies gave."""

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
                        criteria=t.criteria.model_dump(mode="json"),
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
            return [assignment_view(a) for a in rows]

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
        elif task.source != "external" and DispatchSteps._round_reached_miners(s, task.round_id):
            # a per-miner instance its miner refused: it scores 0 like any task left unlabelled (else
            # refusing hard tasks would pay); only when the validator did reach other miners this round
            advance_task(task, TaskState.dispatched)
            task.deadline_at = max(a.expire_at for a in task.assignments)
        else:
            advance_task(task, TaskState.undelivered)
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
