"""The life of a task and of each miner's copy of it, as explicit state machines.

This module is the ONE place that decides which state may follow which: every store step that
changes a ``state`` column calls :func:`advance_task` or :func:`advance_assignment`, so an
illegal move (a task scored twice, results collected before dispatch) is an error, not a bug
that silently corrupts scores.

Task:       created → dispatched → collected → scored → fed_back
            created → undelivered  (no miner accepted the task)
Assignment: planned → dispatched → collected → fed_back
            planned → dispatch_failed          (the miner refused or was unreachable)
            dispatched → collect_failed        (the miner's results could not be read)
            collected → feedback_failed        (feedback could not be delivered)

"Expired" means one thing across the project: a deadline passed (a worker-API task, a miner's task
link, a session). A task no miner accepted is ``undelivered`` (it was ``expired`` until validator
store migration 0004); the external API's results still spell it ``expired`` (:data:`EXTERNAL_NAMES`).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from dojo.errors import InvalidTransition


class TaskState(str, Enum):
    """Where a task is in its life."""

    created = "created"
    dispatched = "dispatched"
    collected = "collected"
    scored = "scored"
    fed_back = "fed_back"
    undelivered = "undelivered"


#: How the external API's results name a task state where the wire keeps an older word (clients of
#: older versions read it): ``undelivered`` is sent as ``expired``.
EXTERNAL_NAMES = {TaskState.undelivered.value: "expired"}


def external_name(state: str) -> str:
    """A task state as the external API's results spell it (see :data:`EXTERNAL_NAMES`)."""
    return EXTERNAL_NAMES.get(state, state)


class AssignmentState(str, Enum):
    """Where one miner's copy of a task is."""

    planned = "planned"
    dispatched = "dispatched"
    dispatch_failed = "dispatch_failed"
    collected = "collected"
    collect_failed = "collect_failed"
    fed_back = "fed_back"
    feedback_failed = "feedback_failed"


class RoundState(str, Enum):
    """A round groups the tasks created together; it is scored once, as a whole."""

    open = "open"
    scored = "scored"


TASK_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.created: frozenset({TaskState.dispatched, TaskState.undelivered}),
    TaskState.dispatched: frozenset({TaskState.collected}),
    TaskState.collected: frozenset({TaskState.scored}),
    TaskState.scored: frozenset({TaskState.fed_back}),
    TaskState.fed_back: frozenset(),
    TaskState.undelivered: frozenset(),
}

ASSIGNMENT_TRANSITIONS: dict[AssignmentState, frozenset[AssignmentState]] = {
    AssignmentState.planned: frozenset({AssignmentState.dispatched, AssignmentState.dispatch_failed}),
    AssignmentState.dispatched: frozenset({AssignmentState.collected, AssignmentState.collect_failed}),
    AssignmentState.dispatch_failed: frozenset(),
    AssignmentState.collected: frozenset({AssignmentState.fed_back, AssignmentState.feedback_failed}),
    AssignmentState.collect_failed: frozenset({AssignmentState.fed_back, AssignmentState.feedback_failed}),
    AssignmentState.fed_back: frozenset(),
    AssignmentState.feedback_failed: frozenset(),
}

ROUND_TRANSITIONS: dict[RoundState, frozenset[RoundState]] = {
    RoundState.open: frozenset({RoundState.scored}),
    RoundState.scored: frozenset(),
}

#: Assignment states in which the miner was sent the task (it counts as assigned when scoring).
SENT_STATES = frozenset(
    {
        AssignmentState.dispatch_failed,
        AssignmentState.dispatched,
        AssignmentState.collected,
        AssignmentState.collect_failed,
        AssignmentState.fed_back,
        AssignmentState.feedback_failed,
    }
)
#: Assignment states that are done with collection.
COLLECT_DONE = frozenset(
    {
        AssignmentState.dispatch_failed,
        AssignmentState.collected,
        AssignmentState.collect_failed,
        AssignmentState.fed_back,
        AssignmentState.feedback_failed,
    }
)
#: Assignment states that need feedback once the task is scored.
NEEDS_FEEDBACK = frozenset({AssignmentState.collected, AssignmentState.collect_failed})


def _advance(kind: str, table: dict[Any, frozenset[Any]], row: Any, to: Any) -> None:
    current = type(to)(row.state)
    if to not in table[current]:
        raise InvalidTransition(f"{kind} {getattr(row, 'id', '?')}: cannot go from {current.value} to {to.value}")
    row.state = to.value


def advance_task(task: Any, to: TaskState) -> None:
    """Move a task row to ``to``, or raise :class:`InvalidTransition`."""
    _advance("task", TASK_TRANSITIONS, task, to)


def advance_assignment(assignment: Any, to: AssignmentState) -> None:
    """Move an assignment row to ``to``, or raise :class:`InvalidTransition`."""
    _advance("assignment", ASSIGNMENT_TRANSITIONS, assignment, to)


def advance_round(round_: Any, to: RoundState) -> None:
    """Move a round row to ``to``, or raise :class:`InvalidTransition`."""
    _advance("round", ROUND_TRANSITIONS, round_, to)
