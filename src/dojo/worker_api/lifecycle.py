"""The life of a worker-API task, in one place: its states, the moves between them, what a labeller sees.

Every context that reads or changes a task's ``status`` goes through this module: creation
(:data:`INITIAL`), submission (:func:`accepts_results` / :func:`accepts_results_sql`, then
:func:`after_result_sql`), the expiry sweep (:func:`overdue_sql`), feedback
(:func:`on_feedback`), and the task list and detail (:func:`effective_status` /
:func:`effective_status_sql`). The web UI shows the status the API sends.

    open ──(max_results answers)──────────────▶ completed
    open ──(deadline passed)──────────────────▶ expired
    open ──(the miner's feedback arrived)─────▶ closed

The words, one meaning each:

* ``open`` — takes answers: before its deadline, below ``max_results``, no feedback yet.
* ``completed`` — has all its ``max_results`` answers (the web UI says "full").
* ``expired`` — its deadline (``expire_at``) passed while it was open. An ``open`` row past its
  deadline *is* expired (its *effective* status) before the sweep writes it: the stored value lags,
  the effective one never does. (A validator task that no miner accepted is ``undelivered``, not
  expired: see ``dojo.validator.states``.)
* ``closed`` — the miner sent its feedback (score, ground truth) while the task was open: the
  answer is out, so no more answers are taken, even before the deadline.

Feedback on a task that is already completed or expired leaves its status alone.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import and_, case
from sqlalchemy.sql.elements import ColumnElement

from dojo.errors import DojoError


class TaskState(str, Enum):
    """A worker task's states (the ``tasks.status`` column and the ``status`` the API sends)."""

    open = "open"
    completed = "completed"
    expired = "expired"
    closed = "closed"


INITIAL = TaskState.open

TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.open: frozenset({TaskState.completed, TaskState.expired, TaskState.closed}),
    TaskState.completed: frozenset(),
    TaskState.expired: frozenset(),
    TaskState.closed: frozenset(),
}

#: Every status value, in the order the API documents them.
STATUSES: tuple[str, ...] = tuple(s.value for s in TaskState)


class InvalidTransition(DojoError):
    """A status change the lifecycle does not allow."""


def sources(to: TaskState) -> frozenset[TaskState]:
    """The states from which ``to`` may follow (the WHERE of a bulk move)."""
    return frozenset(s for s, targets in TRANSITIONS.items() if to in targets)


def advance(task: Any, to: TaskState) -> None:
    """Move a task row (anything with ``status``) to ``to``, or raise :class:`InvalidTransition`."""
    current = TaskState(task.status)
    if to not in TRANSITIONS[current]:
        raise InvalidTransition(f"task {getattr(task, 'id', '?')}: cannot go from {current.value} to {to.value}")
    task.status = to.value


# ---------------------------------------------------------------- the rules, in Python
def effective_status(status: str, expire_at: datetime, now: datetime) -> str:
    """The status a labeller sees at ``now``: an open task past its deadline is expired already."""
    if status == TaskState.open.value and expire_at <= now:
        return TaskState.expired.value
    return status


def accepts_results(status: str, expire_at: datetime, result_count: int, max_results: int, now: datetime) -> bool:
    """True while the task takes one more answer: effectively open and below ``max_results``."""
    return effective_status(status, expire_at, now) == TaskState.open.value and result_count < max_results


def refusal(status: str, expire_at: datetime, max_results: int, now: datetime) -> tuple[int, str]:
    """(HTTP status, message) saying why a task that does not accept results refused one."""
    effective = effective_status(status, expire_at, now)
    if effective == TaskState.expired.value:
        return 410, "the task has expired: results are no longer accepted"
    if effective == TaskState.closed.value:
        return 410, "the task is closed (its miner has sent feedback): results are no longer accepted"
    return 409, f"the task already has its {max_results} results"


def on_feedback(task: Any, now: datetime) -> None:
    """The miner's feedback arrived: an open task is closed (or expired, if its deadline has passed)."""
    effective = effective_status(task.status, task.expire_at, now)
    if task.status == TaskState.open.value:
        advance(task, TaskState.closed if effective == TaskState.open.value else TaskState.expired)


# ---------------------------------------------------------------- the same rules, in SQL
def _task() -> Any:
    from dojo.worker_api.store.models import Task  # the models import this module's states

    return Task


def effective_status_sql(now: Any) -> ColumnElement[Any]:
    """:func:`effective_status` as a column expression (``now`` a value or a bound parameter)."""
    t = _task()
    return case((and_(t.status == TaskState.open.value, t.expire_at <= now), TaskState.expired.value), else_=t.status)


def status_is_sql(state: TaskState, now: Any) -> list[ColumnElement[bool]]:
    """WHERE terms: the effective status is ``state``, on plain columns (each a range an index can serve).

    The same rule as :func:`effective_status`, split so that the stored status stays an equality.
    """
    t = _task()
    if state is TaskState.open:
        return [t.status == TaskState.open.value, t.expire_at > now]
    if state is TaskState.expired:
        return [(t.status == TaskState.expired.value) | and_(t.status == TaskState.open.value, t.expire_at <= now)]
    return [t.status == state.value]


def accepts_results_sql(now: Any) -> list[ColumnElement[bool]]:
    """:func:`accepts_results` as WHERE terms (the guard of the counting UPDATE)."""
    t = _task()
    return [*status_is_sql(TaskState.open, now), t.result_count < t.max_results]


def after_result_sql() -> dict[str, Any]:
    """The SET of the counting UPDATE: one more answer, and ``completed`` when that was the last one."""
    t = _task()
    return {
        "result_count": t.result_count + 1,
        "status": case((t.result_count + 1 >= t.max_results, TaskState.completed.value), else_=t.status),
    }


def overdue_sql(now: Any) -> list[ColumnElement[bool]]:
    """WHERE terms of the sweep: the stored rows whose effective status is ``expired`` but not yet written."""
    t = _task()
    (source,) = sources(TaskState.expired)
    return [t.status == source.value, t.expire_at <= now]
