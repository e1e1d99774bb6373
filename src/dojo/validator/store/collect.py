"""Collecting: which dispatched copies are due to be read, and storing the results read."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from dojo.validator.states import COLLECT_DONE, AssignmentState, TaskState, advance_assignment, advance_task
from dojo.validator.store.db import Database
from dojo.validator.store.dispatch import assignment_view
from dojo.validator.store.models import Assignment, Result, Task, utcnow
from dojo.validator.store.records import AssignmentView, CollectOutcome

#: prefix of the error of a copy whose results could not be read yet and will be asked for again
COLLECT_RETRY = "collect: "


def _collect_due(a: Assignment, deadline: datetime, now: datetime, backoff_s: float, grace_s: float) -> bool:
    """Whether a dispatched copy should be read now: never tried, or its backoff (doubling) is over."""
    if not (a.error or "").startswith(COLLECT_RETRY):
        return True
    waited = max(backoff_s, (a.updated_at - deadline).total_seconds())
    last_chance = deadline + timedelta(seconds=grace_s)
    return now >= min(a.updated_at + timedelta(seconds=waited), last_chance)


class CollectSteps(Database):
    """Reading the labels of copies past their deadline, with retries for unreachable miners."""

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
                    assignment_view(a, t.criteria)
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
