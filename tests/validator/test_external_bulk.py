"""Bulk in, dataset out: the real external-task API on a loopback port, driven by ``dojo.client``.

A file of tasks (JSONL, Parquet, a saved ``datasets`` folder) goes in; bad rows are named by row
and field and never stop the good ones; a re-run never duplicates; finished tasks come back as a
dataset with aggregate scores, agreement, per-labeller values and pairs, loadable by ``datasets``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from vfakes import Clock, FakeChain, FakeGateway, FakeMiner, ListSource, tag_obfuscate, targets

from dojo import serving
from dojo.client import AsyncDojoClient, DojoClient, read_rows
from dojo.config import load_settings
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.external import ExternalQueue, create_external_app
from dojo.validator.store.models import ExternalRequest, utcnow
from dojo.validator.store.repo import ValidatorStore

TOKEN = "bulk-token"


def serve(store: ValidatorStore) -> Iterator[str]:
    """The external-task API on a free loopback port in a thread; yields its URL."""
    app = create_external_app(load_settings(validator__external_api_token=TOKEN), store)
    with serving.start_thread(app, lifespan="off") as server:
        yield server.url


@pytest.fixture
def api(store: ValidatorStore, tmp_home: Path) -> Iterator[str]:
    yield from serve(store)


def row(i: int, n: int = 3, **extra: object) -> dict:
    return {
        "id": f"mine-{i}",
        "prompt": f"Which page {i} is best?",
        "responses": [f"<p>resp-rank-{k}</p>" for k in range(n)],
        **extra,
    }


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_bad_rows_are_named_and_never_stop_the_good_ones_and_reruns_do_not_duplicate(api: str, tmp_path: Path) -> None:
    src = write_jsonl(
        tmp_path / "in.jsonl",
        [
            row(1),
            row(2, n=1),  # one response: not a comparison
            row(3, criteria={"type": "score", "min": 5, "max": 2}),
            "{not json",
            row(5, criteria=json.dumps({"type": "ranking"})),  # criteria as JSON text is fine
            {"prompt": "", "responses": ["<p>a</p>", "<p>b</p>"]},  # no id, empty prompt
            row(7, colour="red"),
            row(8),
        ],
    )
    with DojoClient(api, token=TOKEN) as client:
        first = client.submit_many(read_rows(src), batch_size=2)
        assert (first.created, first.existing) == (3, 0)
        errors = {e.row: e.message for e in first.errors}
        assert set(errors) == {2, 3, 4, 6, 7}
        assert errors[2].startswith("responses:") and "at least 2" in errors[2]
        assert errors[3].startswith("criteria.score:") and "min < max" in errors[3]
        assert errors[4].startswith("not JSON")
        assert errors[6].startswith("prompt:")
        assert errors[7].startswith("colour: unknown field")
        assert str(first.errors[0]).startswith("row 2: ")

        again = client.submit_many(read_rows(src))
        assert (again.created, again.existing, len(again.errors)) == (0, 3, 5)
        assert again.ids == first.ids  # the same requests, not copies
        assert client.summary()["counts"] == {"queued": 3, "dispatched": 0, "done": 0, "failed": 0}

        # the same consumer id with other content is refused, not silently merged
        clash = client.submit_many([(1, row(1, prompt="something else"))])
        assert clash.accepted == 0 and "already names another task" in clash.errors[0].message
        one = client.submit(row(9))
        assert one.created and client.submit(row(9)).id == one.id and not client.submit(row(9)).created
        assert client.get(one.id)["client_id"] == "mine-9"


def test_parquet_and_saved_datasets_go_in_like_jsonl(api: str, tmp_path: Path) -> None:
    rows = [row(i, criteria={"type": "score", "min": 1, "max": 5}) for i in range(4)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))
    datasets.DatasetDict({"train": datasets.Dataset.from_list([row(10), row(11)])}).save_to_disk(str(tmp_path / "dd"))
    with DojoClient(api, token=TOKEN) as client:
        assert client.submit_many(read_rows(tmp_path / "in.parquet")).created == 4
        saved = client.submit_many(read_rows(tmp_path / "saved"))
        assert (saved.created, saved.existing) == (0, 4)  # same ids, same content: same tasks
        assert client.submit_many(read_rows(tmp_path / "dd")).created == 2
        assert client.summary()["total"] == 6


def test_client_ids_are_unique_in_the_store_even_under_concurrent_submits(api: str, store: ValidatorStore) -> None:
    with DojoClient(api, token=TOKEN) as client, ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: client.submit(row(1)).id, range(16)))
    assert len(ids) == 1
    now = utcnow()
    with pytest.raises(IntegrityError), store.transaction() as s:
        for rid in ("a", "b"):
            s.add(
                ExternalRequest(
                    id=rid,
                    client_id="dup",
                    state="queued",
                    prompt="p",
                    criteria={},
                    responses=[],
                    created_at=now,
                    updated_at=now,
                )
            )
    with store.transaction() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ExternalRequest)) == 1


async def test_async_client_and_the_whole_path_to_a_dataset(api: str, store: ValidatorStore, tmp_path: Path) -> None:
    kinds = ["good", "good", "good", "reverse"]
    miners = targets(kinds)
    gw = FakeGateway({m.hotkey: FakeMiner(b) for m, b in zip(miners, kinds, strict=True)})
    clock = Clock()
    cfg = EngineConfig(deadline_s=60, tasks_per_round=2, seed=1, external_replicas=4, external_max_share=0.5)
    engine = Engine(
        store,
        gw,
        ListSource(),
        FakeChain(miners, "5V"),
        None,
        "5V",
        cfg,
        tag_obfuscate,
        clock=clock,
        external=ExternalQueue(store),
    )
    engine.active = miners

    async def one_round() -> None:
        await engine.start_round()
        await engine.dispatch()
        clock.advance(61)
        await engine.collect()
        await engine.score()

    for _ in range(3):  # the miners prove their reliability on synthetic tasks first
        await one_round()
    src = write_jsonl(
        tmp_path / "in.jsonl", [row(i, n=4) for i in range(3)] + [row(3, n=3, criteria={"type": "ranking"})]
    )
    async with AsyncDojoClient(api, token=TOKEN) as client:
        report = await client.submit_many(read_rows(src))
        assert report.created == 4 and not report.errors
        before = await client.summary()
        assert before["pending"] == 4 and before["eta_s"] is None  # nothing finished yet: no rate, no ETA
        for _ in range(12):
            if (await client.summary())["pending"] == 0:
                break
            await one_round()
        after = await client.summary()
        assert after["counts"]["done"] == 4 and after["pending"] == 0 and after["finished_in_window"] == 4
        done = [t async for t in client.iter_tasks("done", page=3)]  # pages through
        assert sorted(t["client_id"] for t in done) == ["mine-0", "mine-1", "mine-2", "mine-3"]
        summary = await client.fetch(tmp_path / "out-async", "jsonl")
    assert summary.tasks == 4

    with DojoClient(api, token=TOKEN) as client:
        for fmt in ("jsonl", "parquet", "hf"):
            client.fetch(tmp_path / fmt, fmt)
    dd = datasets.load_from_disk(str(tmp_path / "hf"))
    tasks, pairs = dd["tasks"], dd["pairs"]
    for t in tasks:
        assert t["state"] == "done" and t["n_miners"] == 3 and t["weighted"]
        by_content = {r["completion_id"]: r["content"] for r in t["responses"]}
        best = max(t["scores"], key=lambda s: s["value"])
        assert by_content[best["completion_id"]] == "<p>resp-rank-0</p>"  # the proven crews' order stands
        assert t["agreement"] is not None and len(t["labels"]) == 8  # 4 miners x 2 labellers, pseudonymous
        assert all(not lab["labeller"].startswith(("good", "reverse")) for lab in t["labels"])
    assert {"prompt", "chosen", "rejected", "margin", "client_id"} <= set(pairs.column_names)
    assert len(pairs) == 3 * 6 + 3 and all(p["chosen"] != p["rejected"] and p["margin"] > 0 for p in pairs)
    for fmt, loader in (("jsonl", "json"), ("parquet", "parquet")):
        files = str(tmp_path / fmt / f"pairs.{fmt}")
        assert len(datasets.load_dataset(loader, data_files=files, split="train")) == len(pairs)
    crit = pq.read_schema(tmp_path / "parquet" / "tasks.parquet").field("criteria").type
    assert pa.types.is_struct(crit)
