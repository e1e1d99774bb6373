"""Reads for ``dojo dataset export``: the finished tasks, oldest first, with their copies and result rows.

The export counts result rows in millions, so this is the one read of the store that returns plain
driver tuples (timestamps and JSON columns as the driver gives them: the dataset code parses them
per column in Arrow) rather than records.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from dojo.validator.states import TaskState
from dojo.validator.store.db import Database
from dojo.validator.store.models import Assignment, Result, Task

#: the task states whose labels are final, in the order the export reads them
EXPORTABLE = (TaskState.scored.value, TaskState.fed_back.value)

#: one batch: task rows (named: ``id, source, external_id, created_at, prompt, criteria, responses,
#: ground_truth``), copy tuples ``(assignment id, task id, hotkey)`` and result tuples
#: ``(assignment id, labeller id, completion id, value, submitted_at)`` by copy, then in the order stored
ExportBatch = tuple[list[sa.Row[Any]], list[tuple[Any, ...]], list[tuple[Any, ...]]]


def _raw(column: Any) -> Any:
    """``column`` as the driver returns it: no per-value conversion into Python objects."""
    return sa.type_coerce(column, sa.types.NullType()).label(column.key)


# built once: a batch's task ids are bound at execution, not compiled into the statement per batch
_TASK_IDS: sa.BindParameter[list[str]] = sa.bindparam("task_ids", expanding=True)
_TASKS = sa.select(
    Task.id,
    Task.source,
    Task.external_id,
    _raw(Task.created_at),
    Task.prompt,
    _raw(Task.criteria),  # criteria repeat across tasks: the export parses each distinct value once
    Task.responses,
    Task.ground_truth,
).where(Task.state.in_(EXPORTABLE))
_COPIES = sa.select(Assignment.id, Assignment.task_id, Assignment.hotkey).where(Assignment.task_id.in_(_TASK_IDS))
_RESULTS = (
    sa.select(Result.assignment_id, Result.labeller_id, Result.completion_id, Result.value, Result.submitted_at)
    .join(Assignment, Result.assignment_id == Assignment.id)
    .where(Assignment.task_id.in_(_TASK_IDS))
    .order_by(Result.assignment_id, Result.id)
)


def _fetch(conn: sa.Connection, query: sa.Executable, task_ids: list[str]) -> list[tuple[Any, ...]]:
    """The query's rows as plain tuples: a SQLAlchemy ``Row`` per result row costs more than the export's work."""
    result = conn.execute(query, {"task_ids": task_ids})
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


class ExportReads(Database):
    """The dataset export's read: one ordered, streamed query over the finished tasks."""

    def export_batches(self, since: datetime | None, batch_size: int) -> Iterator[ExportBatch]:
        """Yield the finished tasks (scored or fed back; created at or after ``since``) in batches of
        ``batch_size``, oldest first, each with its copies and result rows. One read transaction for the
        whole export, streamed (a server-side cursor on PostgreSQL): keyset pages would re-sort the table
        for every page, as nothing indexes ``created_at``."""
        q = _TASKS.order_by(Task.created_at, Task.id)
        if since is not None:
            q = q.where(Task.created_at >= since)
        with self.engine.begin() as conn:
            parts = conn.execute(q.execution_options(stream_results=True, yield_per=batch_size)).partitions(batch_size)
            for part in parts:
                tasks = list(part)
                if not tasks:
                    return
                ids = [t[0] for t in tasks]
                yield tasks, _fetch(conn, _COPIES, ids), _fetch(conn, _RESULTS, ids)
