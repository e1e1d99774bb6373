"""Task sources: the real synthetic API over HTTP (200 / 204 / unreachable) and the seeded generator."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import httpx

from dojo.config import load_settings
from dojo.synthetic.generators import ProceduralGenerator
from dojo.synthetic.models import SyntheticTask
from dojo.synthetic.service.app import create_app
from dojo.validator.sources import HttpSource, ProceduralSource
from support import free_port, wait_until

sys.path.insert(0, str(Path(__file__).parents[1] / "miner"))
from dojo.serving import start_thread  # noqa: E402


class _ThreeTasks:
    """A generator with a finite supply, so the buffer's contents are known exactly: 3 tasks, then errors."""

    name = "three"

    def __init__(self) -> None:
        self._inner = ProceduralGenerator(seed=5)
        self.made = 0

    def generate(self) -> SyntheticTask:
        if self.made >= 3:
            raise RuntimeError("no more tasks")
        self.made += 1
        return self._inner.generate()


async def test_http_source_takes_ready_tasks_then_stops_at_204(tmp_home) -> None:
    settings = load_settings(synthetic__buffer_size=5)
    server = start_thread(create_app(settings, generator=_ThreeTasks()))
    try:
        wait_until(
            lambda: httpx.get(f"{server.url}/health").json()["buffered"] >= 3,
            timeout=30,
            what="the synthetic buffer to fill",
        )
        tasks = await HttpSource(server.url).take(round_id=1, n=10)
        assert len(tasks) == 3  # every ready task, then the 204 ends the take
        for st in tasks:
            t = st.task
            assert st.origin is not None and str(st.origin.task_id) == t.id  # instances are made from it
            assert t.source == "synthetic" and len(t.responses) == 4
            assert sorted(t.ground_truth.values()) == [0, 1, 2, 3]
            assert set(t.ground_truth) == {r["completion_id"] for r in t.responses}
            assert all(r["model"] for r in t.responses)
        assert await HttpSource(server.url).take(round_id=2, n=10) == []
    finally:
        server.stop()


async def test_http_source_unreachable_gives_no_tasks() -> None:
    assert await HttpSource(f"http://127.0.0.1:{free_port()}", timeout=1.0).take(1, 2) == []


async def test_procedural_source_is_reproducible_under_a_seed() -> None:
    a = await ProceduralSource(seed=9).take(round_id=3, n=2)
    b = await ProceduralSource(seed=9).take(round_id=3, n=2)
    c = await ProceduralSource(seed=9).take(round_id=4, n=2)
    assert [t.task.id for t in a] == [t.task.id for t in b] and a[0].task.responses == b[0].task.responses
    assert {t.task.id for t in a}.isdisjoint({t.task.id for t in c})
    assert a[0].task.id != a[1].task.id


async def test_criteria_stay_typed_from_source_to_store(store) -> None:
    """A source's task carries the protocol's criterion; the planner and the store turn it into JSON only
    where it leaves (the copy's payload, the JSON column), and the store's records read it back typed."""
    import sqlalchemy as sa
    from vfakes import make_task

    from dojo.protocol import RankingCriterion, ScoreCriterion
    from dojo.validator.copies import build_copy, copy_rng, wire_task
    from dojo.validator.store.models import Task
    from dojo.validator.store.records import AssignmentView, MinerTarget, TaskForScoring

    (synthetic,) = await ProceduralSource(seed=9).take(round_id=1, n=1)
    assert synthetic.task.criteria == ScoreCriterion(min=1, max=10)
    assert synthetic.instance(5).criteria == synthetic.task.criteria
    ranking = make_task(1, ranking=True)  # built from a JSON dict, as an external request's column reads
    assert ranking.criteria == RankingCriterion()

    plan = build_copy(ranking, "hk-1", copy_rng(7, ranking.id, "hk-1"), None)
    assert plan.payload["criteria"] == {"type": "ranking"}
    assert wire_task(plan.payload, datetime(2026, 12, 1, tzinfo=timezone.utc)).criteria == RankingCriterion()

    store.create_round(1, [synthetic.task, ranking], [])
    with store.transaction() as s:
        stored = {t.id: t.criteria for t in s.scalars(sa.select(Task))}
    assert stored == {synthetic.task.id: {"type": "score", "min": 1, "max": 10}, ranking.id: {"type": "ranking"}}
    read = TaskForScoring("t", "collected", "synthetic", stored[ranking.id], [], None, None)  # type: ignore[arg-type]
    assert read.criteria == RankingCriterion()
    miner = MinerTarget(1, "hk-1", "http://127.0.0.1:1")
    view = AssignmentView(1, "t", miner, "m", {}, {}, datetime(2026, 12, 1, tzinfo=timezone.utc), "dispatched")
    assert view.criteria == ScoreCriterion(min=1, max=10)  # a copy read without its task's criteria
