"""The rule "this result is accepted" (DESIGN §4), in one transaction.

Accepted only while the task accepts results (``lifecycle.accepts_results``: effectively open, below
``max_results``), from a labeller
linked to the task's miner by a live subscription key, who has not answered it yet, with one
valid value per completion. The count is taken by a conditional
``UPDATE … WHERE result_count < max_results RETURNING`` and the result inserted in the same
transaction, so under any concurrency exactly ``max_results`` are accepted (SQLite serialises
writers; PostgreSQL re-checks the WHERE on the locked row), and the unique (task, labeller)
constraint rolls back a concurrent second answer by the same labeller together with its count.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Integer, String, and_, bindparam, insert, select, true, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from dojo.errors import ApiError
from dojo.protocol import as_criterion, check_values
from dojo.worker_api import lifecycle
from dojo.worker_api.contexts.access import linked_miner_ids
from dojo.worker_api.store.models import Result, Task, UTCDateTime, utcnow
from dojo.worker_api.store.runner import Runner


@dataclass(frozen=True)
class Accepted:
    task_id: str
    result_count: int
    submitted_at: datetime


def _closed(task: Any, now: datetime) -> ApiError:
    """Why the task took no more results (``task`` is a Task or a row with its columns)."""
    return ApiError(*lifecycle.refusal(task.status, task.expire_at, task.max_results, now))


@lru_cache(maxsize=1)
def _statements() -> tuple[Any, Any, Any, Any]:
    """(read the task and any earlier answer, count the result, store it, re-read a task that took no more),
    built once with bound parameters."""
    task_id, labeller_id = bindparam("task_id", type_=String), bindparam("labeller_id", type_=Integer)
    found = (
        select(
            Task.status,
            Task.expire_at,
            Task.result_count,
            Task.max_results,
            Task.criteria,
            Task.responses,
            Result.id.label("previous"),
        )
        .outerjoin(Result, and_(Result.task_id == Task.id, Result.labeller_id == labeller_id))
        .where(Task.id == task_id, Task.miner_id.in_(linked_miner_ids(labeller_id)))
    )
    count = (
        update(Task)
        .where(Task.id == task_id, *lifecycle.accepts_results_sql(bindparam("now", type_=UTCDateTime())))
        .values(**lifecycle.after_result_sql())
        .returning(Task.result_count)
        .execution_options(synchronize_session=False)
    )
    fresh = select(Task.status, Task.expire_at, Task.max_results).where(Task.id == task_id)
    return found, count, insert(Result), fresh


@lru_cache(maxsize=1)
def _count_and_store() -> Any:
    """PostgreSQL: the count and the insert as one statement, so one round trip and one implicit transaction.

    ``WITH counted AS (UPDATE … RETURNING result_count), stored AS (INSERT … SELECT … FROM counted)``:
    nothing is stored unless the count was taken, and a unique violation undoes both."""
    counted = _statements()[1].cte("counted")
    values = select(
        bindparam("task_id", type_=String),
        bindparam("labeller_id", type_=Integer),
        bindparam("submitted_at", type_=UTCDateTime()),
        bindparam("scores", type_=JSON()),
    ).select_from(counted)
    columns = ["task_id", "labeller_id", "submitted_at", "scores"]
    stored = insert(Result).from_select(columns, values).returning(Result.id).cte("stored")
    return select(counted.c.result_count).select_from(counted.join(stored, true()))


def _check(task: Any, task_id: str, scores: dict[str, float], now: datetime) -> None:
    """Raise why the labeller may not answer ``task`` (the row of the read statement, None if not visible)."""
    if task is None:
        raise ApiError(404, f"no task {task_id} among the tasks of your partner miners")
    if task.previous is not None:
        raise ApiError(409, "you have already answered this task")
    if not lifecycle.accepts_results(task.status, task.expire_at, task.result_count, task.max_results, now):
        raise _closed(task, now)
    problem = check_values(as_criterion(task.criteria), {r["completion_id"] for r in task.responses}, scores)
    if problem:
        raise ApiError(422, problem)


async def submit_result(
    runner: Runner,
    labeller_id: int,
    task_id: str,
    scores: dict[str, float],
    writer: AbstractAsyncContextManager[Any] | None = None,
) -> Accepted:
    """Accept the labeller's ``scores`` for the task or raise the reason (404/409/410/422).

    Visibility goes through ``linked_miner_ids`` (the rule of ``contexts.access``), read together
    with the labeller's earlier answer in one query. ``writer`` serialises SQLite's transactions
    within the process (queuing on a lock beats SQLite's sleeping busy handler); correctness never
    depends on it, only latency.
    """
    writer = writer or nullcontext()
    found_q, count_q, insert_q, fresh_q = _statements()
    now = utcnow()
    params = {"task_id": task_id, "labeller_id": labeller_id, "now": now}
    row = {**params, "submitted_at": now, "scores": {str(k): float(v) for k, v in scores.items()}}
    if runner.dialect == "postgresql":  # two round trips: read and check, then count and store in one statement
        _check(await runner.first(found_q, params), task_id, scores, now)
        try:
            taken = await runner.scalar(_count_and_store(), row)
        except IntegrityError as exc:  # the same labeller answered concurrently: the count rolls back too
            raise ApiError(409, "you have already answered this task") from exc
    else:

        def read_check_write(conn: Connection) -> int | None:
            """One hop to SQLite's thread: the checks, then the count and the result, in one transaction."""
            _check(conn.execute(found_q, params).one_or_none(), task_id, scores, now)
            count = conn.execute(count_q, params).scalar_one_or_none()
            if count is not None:
                conn.execute(insert_q, row)
            return count

        async with writer:  # one writer at a time in this process (SQLite's lock, queued here instead)
            try:
                taken = await runner.write(read_check_write)
            except IntegrityError as exc:  # a concurrent second answer (another process): rolled back too
                raise ApiError(409, "you have already answered this task") from exc
    if taken is None:  # closed meanwhile: say why, as the task is now
        raise _closed(await runner.first(fresh_q, {"task_id": task_id}), now)
    return Accepted(task_id=task_id, result_count=int(taken), submitted_at=now)
