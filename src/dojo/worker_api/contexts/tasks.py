"""Tasks: created by a miner's API key, listed and read by linked labellers, results read by the owner."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, exists, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.errors import ApiError
from dojo.protocol import LabellerResult
from dojo.worker_api import lifecycle
from dojo.worker_api.contexts.access import linked_miner_ids
from dojo.worker_api.lifecycle import TaskState
from dojo.worker_api.schemas import TaskCreateIn
from dojo.worker_api.store.models import (
    Labeller,
    LabellerGrade,
    Miner,
    Result,
    Task,
    UTCDateTime,
    utcnow,
)
from dojo.worker_api.store.runner import Runner

PREVIEW_CHARS = 280
# Each order matches the column order of two indexes, one led by status (ix_tasks_list_*: status=open
# or completed) and one led by the sort key (ix_tasks_all_*: status=all or expired), so a page is read
# in index order, never sorted. All keys of one order run the same way, so an index serves it backwards.
SORTS = {
    "newest": (Task.created_at.desc(), Task.id.desc()),
    "oldest": (Task.created_at.asc(), Task.id),
    "expiring": (Task.expire_at.asc(), Task.id),
    "most_answered": (Task.result_count.desc(), Task.created_at.desc(), Task.id.desc()),
}
# the same orders over the rows of a page: (key of a row, descending)
_ROW_ORDER: dict[str, tuple[Callable[[Any], tuple[Any, ...]], bool]] = {
    "newest": (lambda r: (r.created_at, r.id), True),
    "oldest": (lambda r: (r.created_at, r.id), False),
    "expiring": (lambda r: (r.expire_at, r.id), False),
    "most_answered": (lambda r: (r.result_count, r.created_at, r.id), True),
}


def _insert(dialect: str) -> Any:
    """The dialect's INSERT, which knows ``ON CONFLICT DO NOTHING``."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(Task)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(Task)


async def create_task(
    session: AsyncSession,
    miner_id: int,
    body: TaskCreateIn,
    default_max_results: int,
    writer: AbstractAsyncContextManager[Any] | None = None,
) -> str:
    """Store the miner's task and return its ``worker_task_id`` (a fresh UUID).

    Idempotent per (miner, ``miner_task_id``; the body's ``task_id``): a repeated creation (a miner
    retrying after a crash or a lost reply) returns the first task's id and stores nothing.
    ``INSERT … ON CONFLICT DO NOTHING`` on the unique (miner_id, miner_task_id) index makes this hold
    under concurrency: the losers insert nothing and read the winner's id (PostgreSQL waits for the
    winner's commit first).
    """
    expire_at = body.expire_at if body.expire_at.tzinfo else body.expire_at.replace(tzinfo=timezone.utc)
    if expire_at <= utcnow():
        raise ApiError(422, "expire_at must be in the future")
    worker_task_id, miner_task_id = str(uuid.uuid4()), str(body.task_id)  # the wire's task_id
    row = dict(
        id=worker_task_id,
        miner_id=miner_id,
        miner_task_id=miner_task_id,
        prompt=body.prompt,
        responses=[{"completion_id": str(r.completion_id), "content": r.content} for r in body.responses],
        criteria=body.criteria.model_dump(),
        kind=body.criteria.type,
        n_responses=len(body.responses),
        expire_at=expire_at,
        max_results=body.max_results or default_max_results,
        result_count=0,
        status=lifecycle.INITIAL.value,
        created_at=utcnow(),
    )
    stmt = (
        _insert(session.get_bind().dialect.name)
        .values(**row)
        .on_conflict_do_nothing(index_elements=[Task.miner_id, Task.miner_task_id])
        .returning(Task.id)
    )
    async with writer or nullcontext():  # one writer at a time in this process (SQLite); a no-op on PostgreSQL
        inserted = (await session.execute(stmt)).scalar_one_or_none()
        await session.commit()
    if inserted is not None:
        return str(inserted)
    existing = (
        await session.execute(select(Task.id).where(Task.miner_id == miner_id, Task.miner_task_id == miner_task_id))
    ).scalar_one()
    return str(existing)


def _summary(row: Any) -> dict[str, Any]:
    prompt = row.prompt
    return {
        "id": row.id,
        "prompt_preview": prompt[:PREVIEW_CHARS],
        "n_responses": row.n_responses,
        "criteria": row.criteria,
        "status": row.eff_status,
        "expire_at": row.expire_at,
        "created_at": row.created_at,
        "result_count": row.result_count,
        "max_results": row.max_results,
        "answered": row.result_id is not None,
        "miner_hotkey": row.hotkey,
    }


def _columns(labeller_id: Any, now: Any, *extra: Any, page: Any = None):  # type: ignore[no-untyped-def]
    """What a labeller sees of a task, joined to its miner and the labeller's own result (from ``page``'s ids)."""
    query = select(
        Task.id,
        Task.prompt,
        Task.n_responses,
        Task.criteria,
        lifecycle.effective_status_sql(now).label("eff_status"),
        Task.expire_at,
        Task.created_at,
        Task.result_count,
        Task.max_results,
        Miner.hotkey,
        Result.id.label("result_id"),
        *extra,
    )
    if page is not None:
        query = query.select_from(page).join(Task, Task.id == page.c.id)
    return query.join(Miner, Miner.id == Task.miner_id).outerjoin(
        Result, and_(Result.task_id == Task.id, Result.labeller_id == labeller_id)
    )


def _base_query(labeller_id: Any, now: Any, *extra: Any):  # type: ignore[no-untyped-def]
    return _columns(labeller_id, now, *extra).where(Task.miner_id.in_(linked_miner_ids(labeller_id)))


def _filters(
    labeller_id: Any,
    now: Any,
    status: str,
    answered: bool | None,
    kind: str | None = None,
    sort: str | None = None,
    dialect: str = "",
) -> list[Any]:
    """The WHERE clauses of a labeller's task list (visibility first).

    With ``sort`` on SQLite (the page, which must walk an index in that order), the terms no index
    should be chosen for are written so that none can be: visibility as ``miner_id + 0 IN (…)`` (a
    miner-led index needs a sort once a labeller has several miners), an open task's deadline, unless
    sorting by it, and the expired status as the effective status (a range on ``expire_at``, or an OR
    of two status ranges, would need one too). They are checked on the covering index's entries
    instead. PostgreSQL gets the plain terms: it has statistics for them, and the worker API's
    connections raise the cost of sorting (``store.db.PG_SETTINGS``), so it walks the same indexes.
    """
    hide = sort is not None and dialect == "sqlite"
    miner = (Task.miner_id + literal_column("0")) if hide else Task.miner_id
    clauses: list[Any] = [miner.in_(linked_miner_ids(labeller_id))]
    if kind is not None:
        clauses.append(Task.kind == kind)
    if status != "all":
        state = TaskState(status)
        if hide and (state is TaskState.expired or (state is TaskState.open and sort != "expiring")):
            # the effective status compared as one expression: a term no index is chosen for (an open
            # task's stored status still leads the index)
            if state is TaskState.open:
                clauses.append(Task.status == state.value)
            clauses.append(lifecycle.effective_status_sql(now) == state.value)
        else:
            clauses += lifecycle.status_is_sql(state, now)
    if answered is not None:
        mine = exists().where(Result.task_id == Task.id, Result.labeller_id == labeller_id)
        clauses.append(mine if answered else ~mine)
    return clauses


# The labeller's queries are built once per shape, with bound parameters (:labeller_id, :now, …):
# building and keying a statement of this size costs about as much as running it on SQLite.
def _labeller() -> Any:
    return bindparam("labeller_id", type_=Integer)


def _now() -> Any:
    return bindparam("now", type_=UTCDateTime())


@lru_cache(maxsize=512)
def _list_statements(
    status: str, answered: bool | None, kind: str | None, sort: str, dialect: str = ""
) -> tuple[Any, Any]:
    """(the page with the total, the total alone) for one filter and sort combination on one dialect.

    The page statement does in one round trip what took three: a narrow subquery picks the page's
    ids (ids and sort keys only, in index order), only those rows are read in full, and the total
    comes along as an uncorrelated scalar subquery (computed once). The total alone is needed only
    when the page is empty.
    """
    where = _filters(_labeller(), _now(), status, answered, kind)
    count = select(func.count()).select_from(Task).where(*where)
    page_ids = (
        select(Task.id)
        .where(*_filters(_labeller(), _now(), status, answered, kind, sort, dialect))
        .order_by(*SORTS[sort])
        .offset(bindparam("offset", type_=Integer))
        .limit(bindparam("limit", type_=Integer))
    ).subquery("page")
    total = count.correlate(None).scalar_subquery().label("total")
    # The page's ids are visible ones already: the outer query reads just those rows, by primary key, from
    # the page outwards (with the visibility test repeated here, SQLite read every visible task and probed
    # the page). No ORDER BY: its ≤ limit rows are put in order in Python (SQLite would use a temp B-tree).
    page = _columns(_labeller(), _now(), total, page=page_ids)
    return page, count


@lru_cache(maxsize=1)
def _detail_statement() -> Any:
    return (
        _base_query(_labeller(), _now(), Task.responses, Result.scores, Result.submitted_at, LabellerGrade.grade)
        .outerjoin(LabellerGrade, and_(LabellerGrade.task_id == Task.id, LabellerGrade.labeller_id == _labeller()))
        .where(Task.id == bindparam("task_id", type_=String))
    )


async def list_tasks(
    runner: Runner,
    labeller_id: int,
    *,
    status: str,
    answered: bool | None,
    sort: str,
    page: int,
    limit: int,
    kind: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the tasks the labeller may see, filtered and sorted, and the total count.

    The page's ids are chosen by a narrow subquery (ids and sort keys only), then only those rows
    are read in full: sorting thousands of wide rows is what made a plain one-query version slow.
    """
    page_q, count_q = _list_statements(status, answered, kind, sort, runner.dialect)
    params = {"labeller_id": labeller_id, "now": utcnow()}
    rows = await runner.rows(page_q, {**params, "offset": (page - 1) * limit, "limit": limit})
    total = rows[0].total if rows else await runner.scalar(count_q, params)
    key, descending = _ROW_ORDER[sort]
    return [_summary(r) for r in sorted(rows, key=key, reverse=descending)], int(total or 0)


async def task_for_labeller(runner: Runner, labeller_id: int, task_id: str) -> dict[str, Any]:
    """One task in full with the labeller's own answer and grade; 404 unless the labeller may see it."""
    params = {"labeller_id": labeller_id, "now": utcnow(), "task_id": task_id}
    row = await runner.first(_detail_statement(), params)
    if row is None:
        raise ApiError(404, f"no task {task_id} among the tasks of your partner miners")
    out = _summary(row)
    out.update(
        prompt=row.prompt,
        responses=row.responses,
        grade=row.grade,
        my_result=None if row.result_id is None else {"scores": row.scores, "submitted_at": row.submitted_at},
    )
    return out


async def owned_task(session: AsyncSession, miner_id: int, task_id: str) -> Task:
    """The task if it belongs to ``miner_id``: 404 when unknown, 403 when another miner's."""
    task = await session.get(Task, task_id)
    if task is None:
        raise ApiError(404, f"no task {task_id}")
    if task.miner_id != miner_id:
        raise ApiError(403, "this task belongs to another miner")
    return task


async def results_for_miner(session: AsyncSession, miner_id: int, task_id: str) -> list[LabellerResult]:
    """Every accepted result of the miner's task; ``labeller_id`` is the labeller's wallet address."""
    await owned_task(session, miner_id, task_id)
    rows = await session.execute(
        select(Labeller.address, Result.scores, Result.submitted_at)
        .join(Labeller, Labeller.id == Result.labeller_id)
        .where(Result.task_id == task_id)
        .order_by(Result.id)
    )
    return [LabellerResult.model_validate({"labeller_id": a, "scores": s, "submitted_at": t}) for a, s, t in rows]
