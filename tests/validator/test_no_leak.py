"""Ground truth never leaves the validator before the deadline, and the best response's place is uniform."""

from __future__ import annotations

import json

import numpy as np
import sqlalchemy as sa
from scipy.stats import chisquare
from vfakes import Clock, FakeChain, FakeGateway, FakeMiner, ListSource, targets

from dojo import protocol
from dojo.validator.copies import default_obfuscator
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.sources import ProceduralSource
from dojo.validator.store.models import Assignment, Task

VALIDATOR = "5ValidatorHotkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


class RecordingGateway(FakeGateway):
    """Keeps the JSON of every request with the clock time it was sent."""

    def __init__(self, miners, clock) -> None:
        super().__init__(miners)
        self.clock = clock
        self.wire: list[tuple[object, str, str]] = []  # (time, kind, json)

    async def send_tasks(self, jobs):
        for _, t in jobs:
            self.wire.append((self.clock(), "task", t.model_dump_json()))
        return await super().send_tasks(jobs)

    async def fetch_results(self, jobs):
        for _, tid in jobs:
            self.wire.append((self.clock(), "results", json.dumps({"task_id": tid})))
        return await super().fetch_results(jobs)

    async def send_feedback(self, jobs):
        for _, tid, fb in jobs:
            self.wire.append((self.clock(), "feedback", json.dumps({"task_id": tid, **fb.model_dump(mode="json")})))
        return await super().send_feedback(jobs)


def _engine(store, source, behaviours, tasks_per_round, obfuscate, seed=None):
    miners = targets(behaviours)
    clock = Clock()
    gw = RecordingGateway({m.hotkey: FakeMiner(b) for m, b in zip(miners, behaviours, strict=True)}, clock)
    cfg = EngineConfig(deadline_s=60, tasks_per_round=tasks_per_round, seed=seed)
    eng = Engine(store, gw, source, FakeChain(miners, VALIDATOR), None, VALIDATOR, cfg, obfuscate, clock=clock)
    eng.active = miners
    return eng, gw, clock


async def test_requests_to_miners_hold_no_truth_and_no_model_name(store) -> None:
    obfuscate = default_obfuscator()  # the real JavaScript-aware obfuscation
    eng, gw, clock = _engine(store, ProceduralSource(seed=None), ["good"] * 3, 3, obfuscate)
    # the fake miners read ranks from the content, which procedural tasks do not carry: label by position
    for m in gw.miners.values():
        m.results = lambda task: protocol.ResultsReply(results=[])  # type: ignore[method-assign]
    for _ in range(2):
        await eng.start_round()
        await eng.dispatch()
        clock.advance(61)
        await eng.collect()
        await eng.score()
        await eng.feedback()
    with store.transaction() as s:
        tasks = s.scalars(sa.select(Task)).all()
        secrets = set()
        for t in tasks:
            secrets |= {r["model"] for r in t.responses} | set(t.ground_truth) | {t.id}
        deadlines = {a.miner_task_id: a.expire_at for a in s.scalars(sa.select(Assignment)).all()}
    assert len(tasks) == 18 and store.task_counts() == {"fed_back": 18}  # 3 miners x 3 own instances x 2 rounds
    copies = [json.loads(body) for _, kind, body in gw.wire if kind == "task"]
    assert len(copies) == 18
    for _when, kind, body in gw.wire:
        if kind == "feedback":
            continue
        for secret in secrets:  # model names, original completion ids (the truth's keys), original task ids
            assert secret not in body, f"{secret!r} leaked in a {kind} request"
        for word in ("ground_truth", "ladder", "model", "metadata"):
            assert word not in json.loads(body) and f'"{word}"' not in body
    # feedback (with the truth in the miner's ids) only after that copy's deadline
    feedback = [(when, json.loads(body)["task_id"]) for when, kind, body in gw.wire if kind == "feedback"]
    assert len(feedback) == 18 and all(when >= deadlines[tid] for when, tid in feedback)
    # every copy is its own task: no prompt, completion id or document is sent twice
    assert len({c["prompt"] for c in copies}) == len(copies)
    ids = [r["completion_id"] for c in copies for r in c["responses"]]
    contents = [r["content"] for c in copies for r in c["responses"]]
    assert len(set(ids)) == len(ids) == len(set(contents)) == 18 * 4


async def test_best_response_position_is_uniform_across_copies(store) -> None:
    """Chi-square over ~1000 copies: the best response (first in every source task) lands anywhere."""
    eng, gw, _ = _engine(store, ListSource(), ["good"] * 5, 4, None, seed=None)
    for _ in range(50):
        await eng.start_round()
        await eng.dispatch()
    with store.transaction() as s:
        truth = {t.id: t.ground_truth for t in s.scalars(sa.select(Task)).all()}
        maps = {a.miner_task_id: (a.task_id, a.completion_map) for a in s.scalars(sa.select(Assignment)).all()}
    positions = []
    for _, task in gw.sent:
        task_id, cmap = maps[str(task.task_id)]
        ranks = [truth[task_id][cmap[str(r.completion_id)]] for r in task.responses]
        positions.append(ranks.index(0))
    counts = np.bincount(positions, minlength=4)
    assert counts.sum() == 1000
    assert chisquare(counts).pvalue > 1e-3, counts
    # the statistic does see a bias: the source order itself always has the best response first
    assert chisquare(np.array([1000, 0, 0, 0])).pvalue < 1e-3
