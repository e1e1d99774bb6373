"""The rule "this result is accepted" (DESIGN §4), in one transaction.

Accepted only while the task is open and not expired, below ``max_results``, from a labeller
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

from pydantic import TypeAdapter
from sqlalchemy import Integer, String, and_, bindparam, case, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.protocol import Criterion, check_values
from dojo.worker_api.contexts.access import linked_miner_ids
from dojo.worker_api.envelope import ApiError
from dojo.worker_api.store.models import Result, Task, TaskStatus, UTCDateTime, utcnow

_CRITERION: TypeAdapter[Criterion] = TypeAdapter(Criterion)


@dataclass(frozen=True)
class Accepted:
    task_id: str
    result_count: int
    submitted_at: datetime


def _closed(task: Any, now: datetime) -> ApiError:
    """Why an open-looking task took no more results (``task`` is a Task or a row with its columns)."""
    if task.status == TaskStatus.expired.value or task.expire_at <= now:
        return ApiError(410, "the task has expired: results are no longer accepted")
    return ApiError(409, f"the task already has its {task.max_results} results")


@lru_cache(maxsize=1)
def _statements() -> tuple[Any, Any, Any]:
    """(read the task and any earlier answer, count the result, store it), built once with bound parameters."""
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
        .where(
            Task.id == task_id,
            Task.status == TaskStatus.open.value,
            Task.expire_at > bindparam("now", type_=UTCDateTime()),
            Task.result_count < Task.max_results,
        )
        .values(
            result_count=Task.result_count + 1,
            status=case((Task.result_count + 1 >= Task.max_results, TaskStatus.completed.value), else_=Task.status),
        )
        .returning(Task.result_count)
        .execution_options(synchronize_session=False)
    )
    return found, count, insert(Result)


async def submit_result(
    session: AsyncSession,
    labeller_id: int,
    task_id: str,
    scores: dict[str, float],
    writer: AbstractAsyncContextManager[Any] | None = None,
) -> Accepted:
    """Accept the labeller's ``scores`` for the task or raise the reason (404/409/410/422).

    Visibility goes through ``linked_miner_ids`` (the rule of ``contexts.access``), read together
    with the labeller's earlier answer in one query. ``writer`` serialises the write part within the
    process (on SQLite, queuing on a lock beats SQLite's sleeping busy handler); correctness never
    depends on it, only latency.
    """
    writer = writer or nullcontext()
    found_q, count_q, insert_q = _statements()
    task = (await session.execute(found_q, {"task_id": task_id, "labeller_id": labeller_id})).one_or_none()
    if task is None:
        raise ApiError(404, f"no task {task_id} among the tasks of your partner miners")
    now = utcnow()
    if task.previous is not None:
        raise ApiError(409, "you have already answered this task")
    if task.status != TaskStatus.open.value or task.expire_at <= now or task.result_count >= task.max_results:
        raise _closed(task, now)
    problem = check_values(
        _CRITERION.validate_python(task.criteria), {r["completion_id"] for r in task.responses}, scores
    )
    if problem:
        raise ApiError(422, problem)

    async with writer:  # one writer at a time in this process (SQLite); a no-op on PostgreSQL
        count = (await session.execute(count_q, {"task_id": task_id, "now": now})).scalar_one_or_none()
        if count is None:
            await session.rollback()
            fresh = await session.get(Task, task_id, populate_existing=True)
            raise _closed(fresh or task, now)
        try:
            await session.execute(
                insert_q,
                {
                    "task_id": task_id,
                    "labeller_id": labeller_id,
                    "submitted_at": now,
                    "scores": {str(k): float(v) for k, v in scores.items()},
                },
            )
            await session.commit()
        except IntegrityError as exc:  # the same labeller answered concurrently: the count rolls back too
            await session.rollback()
            raise ApiError(409, "you have already answered this task") from exc
    return Accepted(task_id=task_id, result_count=int(count), submitted_at=now)
