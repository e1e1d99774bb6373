"""No resale: every miner gets its own synthetic instances (own prompt, documents, ids and truth)."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from vfakes import Clock, FakeChain, FakeGateway, FakeMiner, PlainSource, tag_obfuscate, targets

from dojo import protocol
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.slots import instance_seed
from dojo.validator.sources import HttpSource, ProceduralSource
from dojo.validator.store.models import Assignment, Task
from dojo.validator.store.repo import ValidatorStore

V = "5ValidatorHotkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


def _engine(store, source, n_miners: int, tasks_per_round: int, seed: int | None = 11, behaviour: str = "good"):
    miners = targets([behaviour] * n_miners)
    gw = FakeGateway({m.hotkey: FakeMiner(behaviour) for m in miners})
    clock = Clock()
    cfg = EngineConfig(deadline_s=60, tasks_per_round=tasks_per_round, seed=seed)
    eng = Engine(store, gw, source, FakeChain(miners, V), None, V, cfg, tag_obfuscate, clock=clock)
    eng.active = miners
    return eng, gw, clock


def _rows(store) -> tuple[list[Task], list[Assignment]]:
    with store.transaction() as s:
        tasks = list(s.scalars(sa.select(Task).order_by(Task.position)).all())
        assigned = list(s.scalars(sa.select(Assignment).order_by(Assignment.id)).all())
        for t in tasks:  # detach with what the test reads
            s.expunge(t)
        for a in assigned:
            s.expunge(a)
    return tasks, assigned


async def test_each_miner_gets_its_own_instance_of_each_slot(store) -> None:
    eng, gw, _ = _engine(store, ProceduralSource(seed=5), n_miners=6, tasks_per_round=3)
    assert await eng.start_round() == 1
    tasks, assigned = _rows(store)
    assert len(tasks) == 18 and len(assigned) == 18
    # exactly one assignment per synthetic task; each miner holds tasks_per_round of them
    assert Counter(a.task_id for a in assigned) == {t.id: 1 for t in tasks}
    assert set(Counter(a.hotkey for a in assigned).values()) == {3}
    assert all(t.source == "synthetic" and t.ground_truth for t in tasks)
    # nothing is shared: task ids, prompts, documents, completion ids; every truth is its own
    assert len({t.prompt for t in tasks}) == 18
    docs = [r["content"] for t in tasks for r in t.responses]
    cids = [str(r["completion_id"]) for t in tasks for r in t.responses]
    assert len(set(docs)) == len(docs) == len(set(cids)) == 18 * 4
    assert all(set(t.ground_truth) == {str(r["completion_id"]) for r in t.responses} for t in tasks)
    # the same family in every miner's instance of a slot: three slots, each one family for all six miners
    by_miner: dict[str, list[str]] = {}
    for a in assigned:
        task = next(t for t in tasks if t.id == a.task_id)
        by_miner.setdefault(a.hotkey, []).append(task.responses[0]["model"])
    families = [sorted(v) for v in by_miner.values()]
    assert all(f == families[0] for f in families)
    # and every miner's own copy of its instance went out
    await eng.dispatch()
    assert Counter(hk for hk, _ in gw.sent) == {m.hotkey: 3 for m in eng.active}


async def test_a_seed_plans_the_same_round_again_and_no_seed_never_does(tmp_path: Path) -> None:
    """Crash safety: with a validator seed, a round planned again after a crash is the same round."""
    plans = []
    for name, seed in (("a", 3), ("b", 3), ("c", None), ("d", None)):
        db = ValidatorStore(f"sqlite:///{tmp_path / name}.db")
        eng, _, _ = _engine(db, ProceduralSource(seed=seed), n_miners=3, tasks_per_round=2, seed=seed)
        await eng.start_round()
        tasks, assigned = _rows(db)
        plans.append(({t.id for t in tasks}, {(a.hotkey, a.miner_task_id) for a in assigned}))
        db.dispose()
    assert plans[0] == plans[1]
    assert plans[2][0].isdisjoint(plans[3][0]) and plans[2][0].isdisjoint(plans[0][0])
    # seeds differ per round, slot and miner
    seeds = {instance_seed(3, r, j, hk) for r in (1, 2) for j in (0, 1) for hk in ("a", "b")}
    assert len(seeds) == 8


async def test_planned_instances_survive_a_crash_and_are_sent_once(store) -> None:
    eng, gw, clock = _engine(store, ProceduralSource(seed=None), n_miners=3, tasks_per_round=2, seed=None)
    await eng.start_round()
    planned = {a.miner_task_id for a in store.planned()}
    # the validator dies before sending; a new one on the same store sends exactly those copies
    eng2, gw2, _ = _engine(store, ProceduralSource(seed=None), n_miners=3, tasks_per_round=2, seed=None)
    eng2.clock = clock
    assert await eng2.dispatch() == 6
    assert {str(t.task_id) for _, t in gw2.sent} == planned
    assert await eng2.dispatch() == 0 and store.task_counts() == {"dispatched": 6}


async def test_tasks_without_a_template_go_to_one_miner_each(store, caplog) -> None:
    """An LLM task whose generator left no template: distinct tasks from the source, one per miner and slot."""
    source = PlainSource()
    eng, gw, clock = _engine(store, source, n_miners=4, tasks_per_round=2)
    with caplog.at_level(logging.WARNING, logger="dojo.validator.slots"):
        await eng.start_round()
    assert "round.instance_fallback" in caplog.text and "round.fallback_tasks" in caplog.text
    tasks, assigned = _rows(store)
    assert len(tasks) == 8 and Counter(a.task_id for a in assigned) == {t.id: 1 for t in tasks}
    assert source.served == 8  # two slot tasks (each sent to one miner) and six more popped
    assert len({t.prompt for t in tasks}) == 8


async def test_a_short_source_leaves_slots_empty_rather_than_sharing(store) -> None:
    eng, gw, clock = _engine(store, PlainSource(limit=5), n_miners=4, tasks_per_round=2)
    await eng.start_round()
    tasks, assigned = _rows(store)
    assert len(tasks) == len(assigned) == 5
    assert len({a.task_id for a in assigned}) == 5


async def test_a_refused_instance_scores_zero_unless_nobody_could_be_reached(store) -> None:
    miners = targets(["good", "down"])
    gw = FakeGateway({m.hotkey: FakeMiner(b) for m, b in zip(miners, ["good", "down"], strict=True)})
    clock = Clock()
    cfg = EngineConfig(deadline_s=60, tasks_per_round=1, seed=1)
    eng = Engine(store, gw, ProceduralSource(seed=1), FakeChain(miners, V), None, V, cfg, None, clock=clock)
    eng.active = miners
    for m in gw.miners.values():  # procedural contents do not tell the fake its ranks: answer nothing
        m.results = lambda task: protocol.ResultsReply(results=[])
    await eng.start_round()
    await eng.dispatch()
    assert store.task_counts() == {"dispatched": 2}  # the down miner's instance is its own business
    clock.advance(61)
    await eng.collect()
    assert await eng.score() == [1]
    await eng.feedback()
    assert store.task_counts() == {"fed_back": 2}
    with store.transaction() as s:
        from dojo.validator.store.models import TaskScore

        scored = {r.hotkey for r in s.scalars(sa.select(TaskScore)).all()}
    assert scored == {miners[0].hotkey, miners[1].hotkey}
    # when no miner at all accepted (the validator's own network was down), nobody is charged
    gw.miners[miners[0].hotkey].behaviour = "down"
    await eng.start_round()
    await eng.dispatch()
    assert store.task_counts() == {"fed_back": 2, "undelivered": 2}


class _Counting(HttpSource):
    """The real HTTP source, counting the tasks it popped."""

    popped = 0

    async def take(self, round_id: int, n: int):
        got = await super().take(round_id, n)
        self.popped += len(got)
        return got


class _LlmLike:
    """Synthetic-API generator of tasks as the LLM generator makes them, without a template (for now)."""

    name = "llm"

    def __init__(self) -> None:
        from dojo.synthetic.generators import ProceduralGenerator

        self._inner = ProceduralGenerator(seed=21)

    def generate(self):
        task = self._inner.generate()
        return task.model_copy(update={"metadata": {"generator": "llm", "model": "stand-in/model"}})


async def test_over_the_synthetic_api_procedural_tasks_become_instances_and_llm_ones_fall_back(
    store, tmp_home, caplog
) -> None:
    import sys

    import httpx

    from dojo.config import load_settings
    from dojo.synthetic.generators import ProceduralGenerator
    from dojo.synthetic.service.app import create_app
    from support import wait_until

    sys.path.insert(0, str(Path(__file__).parents[1] / "miner"))
    from dojo.serving import start_thread

    settings = load_settings(synthetic__buffer_size=6)
    for gen, popped in ((ProceduralGenerator(seed=3), 1), (_LlmLike(), 3)):
        server = start_thread(create_app(settings, generator=gen))
        try:
            wait_until(
                lambda u=server.url: httpx.get(f"{u}/health").json()["buffered"] >= 6,
                timeout=60,
                what="the synthetic buffer to fill",
            )
            db = ValidatorStore(f"sqlite:///{tmp_home / gen.name}.db")
            source = _Counting(server.url)
            eng, gw, _ = _engine(db, source, n_miners=3, tasks_per_round=1)
            with caplog.at_level(logging.WARNING, logger="dojo.validator.slots"):
                await eng.start_round()
            tasks, assigned = _rows(db)
            db.dispose()
        finally:
            server.stop()
        assert len(tasks) == 3 and Counter(a.task_id for a in assigned) == {t.id: 1 for t in tasks}
        assert len({t.prompt for t in tasks}) == 3
        assert source.popped == popped  # one task per slot for instances; one per miner without a template
        assert ("round.instance_fallback" in caplog.text) == (gen.name == "llm")


class _LlmSource:
    """LLM tasks with their program template, as the synthetic API would serve them (already generated)."""

    def __init__(self, tasks: list) -> None:
        self.tasks = list(tasks)
        self.served = 0

    async def take(self, round_id: int, n: int):
        from dojo.validator.sources import source_task

        out = [source_task(t.model_dump(mode="json")) for t in self.tasks[self.served : self.served + n]]
        self.served += len(out)
        return out


async def test_llm_tasks_become_per_miner_instances_without_a_model_call(store, caplog) -> None:
    """An LLM task carries its one program: every miner gets its own instance, and the endpoint is not asked again."""
    import random

    from dojo.config import SyntheticSettings
    from dojo.synthetic.llm import LLMGenerator
    from synthetic.fake_llm import FakeServer

    with FakeServer() as server:
        settings = SyntheticSettings(llm_base_url=server.base_url, llm_api_key="k", llm_model="fake-model")
        gen = LLMGenerator(settings, rng=random.Random(3))
        source = _LlmSource([gen.generate(), gen.generate()])
        calls = len(server.fake.calls)
        eng, gw, _ = _engine(store, source, n_miners=4, tasks_per_round=2)
        with caplog.at_level(logging.WARNING, logger="dojo.validator.slots"):
            await eng.start_round()
        await eng.dispatch()
        assert len(server.fake.calls) == calls  # no model call per miner
    assert "round.instance_fallback" not in caplog.text
    assert source.served == 2
    tasks, assigned = _rows(store)
    assert len(tasks) == 8 and Counter(a.task_id for a in assigned) == {t.id: 1 for t in tasks}
    assert len({t.prompt for t in tasks}) == 8
    docs = [r["content"] for t in tasks for r in t.responses]
    cids = [str(r["completion_id"]) for t in tasks for r in t.responses]
    assert len(set(docs)) == len(docs) == len(set(cids)) == 8 * 4
    assert Counter(hk for hk, _ in gw.sent) == {m.hotkey: 2 for m in eng.active}
