"""A file of rows as batches for ``POST /api/v1/external-tasks/batch``, and the replies back onto the rows.

No I/O here: the sync and async clients share it. Each row is checked and serialised once, here;
a batch closes at :data:`BATCH` tasks or about :data:`BATCH_BYTES` of JSON (well under the API's
8 MiB body limit). A batch the validator still finds too large (413: a smaller limit) is split in
halves and sent again; a single task it refuses as too large is that row's error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dojo.client._models import BulkReport, task_from_row
from dojo.errors import RowError

#: Tasks per request (the API takes up to 500).
BATCH = 500
#: About this many bytes of JSON per request at most (a single larger task goes alone).
BATCH_BYTES = 4 * 1024 * 1024

Rows = Iterable[tuple[int, Any]]


@dataclass
class Batch:
    """Rows ready to send: their row numbers and each task as JSON, in order."""

    rows: list[int] = field(default_factory=list)
    docs: list[bytes] = field(default_factory=list)
    consumed: int = 0  # input rows this batch accounts for, the refused ones before it included (progress)

    def body(self) -> bytes:
        return b'{"tasks":[' + b",".join(self.docs) + b"]}"

    def halves(self) -> tuple[Batch, Batch]:
        mid = len(self.rows) // 2
        return Batch(self.rows[:mid], self.docs[:mid]), Batch(self.rows[mid:], self.docs[mid:])


def batches(rows: Rows, report: BulkReport, size: int = BATCH, max_bytes: int = BATCH_BYTES) -> Iterator[Batch]:
    """Valid rows in batches; invalid rows go straight to ``report.errors`` (the last batch may be empty)."""
    batch, nbytes = Batch(), 0
    for n, data in rows:
        batch.consumed += 1
        try:
            if isinstance(data, Exception):
                raise RowError(n, str(data))
            doc = task_from_row(n, data).model_dump_json(exclude_none=True).encode()
        except RowError as exc:
            report.errors.append(exc)
            continue
        if batch.docs and nbytes + len(doc) > max_bytes:
            consumed = batch.consumed - 1  # this row opens the next batch
            batch.consumed = consumed
            yield batch
            batch, nbytes = Batch(consumed=1), 0
        batch.rows.append(n)
        batch.docs.append(doc)
        nbytes += len(doc) + 1
        if len(batch.docs) >= size:
            yield batch
            batch, nbytes = Batch(), 0
    if batch.consumed:
        yield batch


def too_large(batch: Batch, detail: str) -> list[tuple[int, dict[str, Any]]]:
    """The one task of ``batch`` the validator refused as too large, as that row's error."""
    return [(batch.rows[0], {"field": "(task)", "error": f"(task): larger than the validator accepts ({detail})"})]


def record(results: list[tuple[int, dict[str, Any]]], report: BulkReport) -> None:
    """The validator's result for each row into ``report``."""
    for row, res in results:
        if "error" in res:
            report.errors.append(RowError(row, res["error"]))
        else:
            report.ids[row] = res["id"]
            if res["created"]:
                report.created += 1
            else:
                report.existing += 1


def by_row(batch: Batch, reply: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """A batch reply's results, each with the row it answers."""
    return [(batch.rows[res["index"]], res) for res in reply["results"]]
