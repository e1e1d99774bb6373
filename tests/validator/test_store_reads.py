"""The store's read methods: the local network's oracle and live view, ``dojo status``, the external API's views.

Every read of the validator's database goes through :class:`ValidatorStore` (see
``test_store_ownership.py``); these tests pin what each read returns, on a store filled by the
validator's own steps.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from dojo.validator.store.records import (
    CollectOutcome,
    LabelRow,
    MinerTarget,
    NewAssignment,
    NewExternalRequest,
)
from dojo.validator.store.repo import ValidatorStore


async def _one_round(make_engine, store: ValidatorStore) -> None:
    engine, _, _, clock = make_engine(["good", "reverse", "good"], db=store)
    await engine.start_round()
    await engine.dispatch()
    clock.advance(61)
    await engine.collect()
    await engine.score()
    await engine.feedback()


def _request(i: int, client_id: str | None = None) -> NewExternalRequest:
    return NewExternalRequest(
        client_id=client_id,
        prompt=f"Which is better? {i}",
        criteria={"type": "score", "min": 1, "max": 10},
        responses=[{"completion_id": f"c{i}-{k}", "content": f"<p>{i}-{k}</p>"} for k in range(2)],
    )


# ---- opening for reading only -----------------------------------------------------------------


def test_open_read_only_waits_for_a_file_and_its_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'validator.db'}"
    assert ValidatorStore.open_read_only(url) is None  # no file yet
    (tmp_path / "validator.db").touch()
    assert ValidatorStore.open_read_only(url) is None  # a file, but the validator has not migrated it
    assert not (tmp_path / "validator.db").stat().st_size  # looking created nothing
    ValidatorStore(url).dispose()
    reader = ValidatorStore.open_read_only(url)
    assert reader is not None
    try:
        assert reader.task_counts() == {} and reader.progress().rounds_scored == 0
    finally:
        reader.dispose()


def test_a_reader_cannot_write_and_never_blocks_the_writer(store: ValidatorStore) -> None:
    reader = ValidatorStore.open_read_only(store.url)
    assert reader is not None
    try:
        with pytest.raises(sa.exc.OperationalError, match="readonly"):
            reader.record_weights(1, {1: 1.0}, "ok")
        with reader.transaction() as s:  # a reader's transaction is open…
            s.execute(sa.text("SELECT count(*) FROM rounds")).scalar()
            store.record_weights(7, {1: 1.0}, "ok")  # …and the validator still writes at once
        assert reader.last_weights_block() == 7
    finally:
        reader.dispose()


@pytest.mark.postgres
def test_a_reader_on_postgresql_cannot_write(pg_url: str) -> None:
    assert ValidatorStore.open_read_only(pg_url) is None  # an empty database: not migrated yet
    writer = ValidatorStore(pg_url)
    reader = ValidatorStore.open_read_only(pg_url)
    assert reader is not None
    try:
        writer.record_weights(3, {1: 1.0}, "ok")
        assert reader.last_weights_block() == 3
        with pytest.raises(sa.exc.InternalError, match="read-only"):
            reader.record_weights(4, {1: 1.0}, "ok")
    finally:
        reader.dispose()
        writer.dispose()


# ---- the local network's oracle and live view ---------------------------------------------------


async def test_copies_since_maps_each_copy_back_to_its_task_and_truth(store: ValidatorStore, make_engine) -> None:
    assert store.copies_since(0) == []
    await _one_round(make_engine, store)
    copies = store.copies_since(0)
    assert [c.assignment_id for c in copies] == sorted(c.assignment_id for c in copies) and len(copies) == 3
    for c in copies:
        truth = c.ground_truth
        assert truth is not None and sorted(truth.values()) == [0, 1, 2, 3]
        assert sorted(c.completion_map.values()) == sorted(truth)  # every original id, under the miner's ids
        assert not set(c.completion_map) & set(truth)  # the miner saw other ids
    last = copies[1].assignment_id
    assert [c.assignment_id for c in store.copies_since(last)] == [copies[2].assignment_id]
    assert store.copies_since(copies[-1].assignment_id) == []


async def test_progress_is_tasks_rounds_and_scores_by_hotkey(store: ValidatorStore, make_engine) -> None:
    await _one_round(make_engine, store)
    p = store.progress()
    assert p.tasks == {"fed_back": 3} and p.rounds_scored == 1
    assert p.running["hk-1-good"] == pytest.approx(1.0) and p.running["hk-2-reverse"] == pytest.approx(-1.0)
    assert p.task_means["hk-1-good"] == (pytest.approx(1.0), 1)
    assert p.task_means["hk-2-reverse"] == (pytest.approx(-1.0), 1)
    assert set(p.running) == set(p.task_means) == {"hk-1-good", "hk-2-reverse", "hk-3-good"}


# ---- the external-task API's views ----------------------------------------------------------------


def test_external_request_and_counts(store: ValidatorStore) -> None:
    added = store.add_external_requests([_request(1, "a"), _request(2)])
    assert store.external_request("no-such-id") is None
    one = store.external_request(added[0].id)
    assert one is not None and (one.client_id, one.state, one.result, one.labels) == ("a", "queued", None, [])
    assert one.responses == [
        {"completion_id": "c1-0", "content": "<p>1-0</p>"},
        {"completion_id": "c1-1", "content": "<p>1-1</p>"},
    ]
    assert store.external_counts(window_s=900) == ({"queued": 2}, 0)


def test_queued_external_hands_out_the_oldest_as_new_tasks(store: ValidatorStore) -> None:
    added = store.add_external_requests([_request(i) for i in range(2)])
    later = store.add_external_requests([_request(9)])  # a later batch comes after, whatever its id
    tasks = store.queued_external(2)
    assert [t.external_id for t in tasks] == sorted(a.id for a in added)  # one batch: in id order
    assert [t.external_id for t in store.queued_external(3)][-1] == later[0].id
    assert all(t.source == "external" and t.ground_truth is None for t in tasks)
    assert [r["model"] for r in tasks[0].responses] == ["external", "external"]
    assert len({t.id for t in tasks + store.queued_external(2)}) == 4  # a fresh task id every time
    assert store.external_counts(window_s=900)[0] == {"queued": 3}  # handing out changes nothing


def test_external_page_carries_each_labellers_values(store: ValidatorStore) -> None:
    added = store.add_external_requests([_request(i) for i in range(3)])
    (task,) = store.queued_external(1)  # the batch came in together: the smallest id first
    assert task.external_id == min(a.id for a in added)
    c0, c1 = (str(r["completion_id"]) for r in task.responses)
    miner = MinerTarget(uid=1, hotkey="hk-1", address="http://127.0.0.1:9")
    now = datetime.now(timezone.utc)
    copy_of = NewAssignment(task.id, miner, "m-1", {"x0": c0, "x1": c1}, {}, now + timedelta(minutes=1))
    store.create_round(1, [task], [copy_of])
    (copy,) = store.planned()
    store.record_dispatch({copy.id: ("w-1", None)})
    rows = [LabelRow("lab-a", c0, 7.0, now), LabelRow("lab-a", c1, 3.0, now), LabelRow("lab-b", c0, 6.0, now)]
    store.record_collect(task.id, {copy.id: CollectOutcome(rows=rows, fingerprint=None)})

    page = store.external_page(state=None, after=None, limit=2)
    assert [r.id for r in page] == sorted(a.id for a in added)[:2]
    labelled = store.external_page(state="dispatched", after=None, limit=10)
    assert [r.id for r in labelled] == [task.external_id]
    assert sorted(labelled[0].labels) == [
        ("hk-1", "lab-a", {c0: 7.0, c1: 3.0}),
        ("hk-1", "lab-b", {c0: 6.0}),
    ]
    rest = store.external_page(state=None, after=page[-1].id, limit=2)
    assert [r.id for r in rest] == sorted(a.id for a in added)[2:]
    assert store.external_page(state="done", after=None, limit=10) == []
