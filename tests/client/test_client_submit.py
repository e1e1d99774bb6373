"""``dojo.client``'s bulk submit over the batch endpoint: batches bounded in tasks and bytes, a body the validator
finds too large split until it fits (a single too-large task is that row's error), progress counted in input rows,
the same for the sync and the async client, against the real external-task API on a loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dojo import serving
from dojo.client import AsyncDojoClient, BulkReport, DojoClient, task_from_row
from dojo.client._batches import batches
from dojo.config import load_settings
from dojo.validator.external import create_external_app
from dojo.validator.store.repo import ValidatorStore

TOKEN = "client-token"


def row(i: int, size: int = 20, n: int = 3, **extra: Any) -> dict[str, Any]:
    return {"id": f"r{i}", "prompt": f"page {i}?", "responses": [f"<p>{k}{'x' * size}</p>" for k in range(n)], **extra}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ValidatorStore]:
    s = ValidatorStore(f"sqlite:///{tmp_path / 'validator.db'}")
    yield s
    s.dispose()


def api(store: ValidatorStore, max_body: int | None = None) -> serving.ServerThread:
    extra = {} if max_body is None else {"validator__external_api_max_body_bytes": max_body}
    app = create_external_app(load_settings(validator__external_api_token=TOKEN, **extra), store)
    return serving.start_thread(app, lifespan="off")


def test_batches_close_at_a_count_or_a_byte_budget_and_count_every_row() -> None:
    rows = [(i, row(i, size=100)) for i in range(1, 11)]
    rows.insert(3, (99, {"prompt": "no responses"}))
    report = BulkReport()
    made = list(batches(rows, report, size=4, max_bytes=10_000))
    assert [len(b.rows) for b in made] == [4, 4, 2] and [b.consumed for b in made] == [5, 4, 2]
    assert [e.row for e in report.errors] == [99]
    one = len(task_from_row(1, row(1, size=100)).model_dump_json(exclude_none=True))
    budget = 2 * one + 20  # two tasks a batch
    small = list(batches(rows, BulkReport(), size=500, max_bytes=budget))
    assert [len(b.rows) for b in small] == [2, 2, 2, 2, 2] and sum(b.consumed for b in small) == 11
    assert all(len(b.body()) <= budget + 20 for b in small)
    assert b'"tasks":[' in small[0].body() and b'"client_id":"r1"' in small[0].body()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_body_too_large_for_the_validator_is_split_and_only_the_too_large_task_is_refused(
    kind: str, store: ValidatorStore, tmp_home: Path
) -> None:
    rows = [(i, row(i)) for i in range(1, 13)]  # ~12 × 330 bytes in one batch: more than the 2 KiB the API takes
    rows.insert(5, (50, row(50, size=3000)))  # one task alone is over the limit
    rows.append((60, {"id": "r60", "prompt": "", "responses": ["a", "b"]}))  # refused by the client itself
    seen: list[int] = []
    with api(store, max_body=2048) as server:
        if kind == "sync":
            with DojoClient(server.url, token=TOKEN) as client:
                report = client.submit_many(rows, progress=seen.append)
        else:

            async def go() -> BulkReport:
                async with AsyncDojoClient(server.url, token=TOKEN) as client:
                    return await client.submit_many(rows, progress=seen.append)

            report = asyncio.run(go())
    assert report.created == 12 and report.existing == 0
    assert [e.row for e in report.errors] == [50, 60]  # in row order
    assert report.errors[0].message.startswith("(task): larger than the validator accepts")
    assert "2048 bytes" in report.errors[0].message
    assert report.errors[1].message.startswith("prompt:")
    assert sum(seen) == len(rows)  # progress counts every input row, refused ones too
    assert sorted(report.ids) == [i for i in range(1, 13)]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_many_batches_in_a_row_and_a_rerun(kind: str, store: ValidatorStore, tmp_home: Path) -> None:
    rows = [(i, row(i)) for i in range(1, 1202)]  # three batches of 500, 500, 201
    seen: list[int] = []
    with api(store) as server:

        async def twice_async() -> tuple[BulkReport, BulkReport]:
            async with AsyncDojoClient(server.url, token=TOKEN) as client:
                return await client.submit_many(rows, progress=seen.append), await client.submit_many(rows)

        if kind == "async":
            first, again = asyncio.run(twice_async())
        else:
            with DojoClient(server.url, token=TOKEN) as client:
                first, again = client.submit_many(rows, progress=seen.append), client.submit_many(rows)
    assert seen == [500, 500, 201]
    assert (first.created, first.existing, len(first.errors)) == (1201, 0, 0)
    assert (again.created, again.existing) == (0, 1201) and again.ids == first.ids
