"""External tasks: capped per miner, each shared by at least three miners, and indistinguishable on the wire."""

from __future__ import annotations

import json
import random
import re
import uuid
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa
from scipy.stats import binomtest
from vfakes import Clock, FakeChain, FakeGateway, FakeMiner, ListSource, tag_obfuscate, targets

from dojo import protocol
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.external import ExternalQueue, ExternalTaskIn
from dojo.validator.external_cap import Load, per_round_limit, place, room
from dojo.validator.store.models import Assignment, Task

V = "5ValidatorHotkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


def _queue(store, n: int, docs: list[str] | None = None, prompt: str = "Which page is best?") -> ExternalQueue:
    queue = ExternalQueue(store)
    for i in range(n):
        contents = docs or [f"<p>resp-rank-{k} of external {i}</p>" for k in range(4)]
        queue.add(
            ExternalTaskIn.model_validate(
                {
                    "prompt": prompt,
                    "responses": [{"completion_id": str(uuid.uuid4()), "content": c} for c in contents],
                }
            )
        )
    return queue


def _engine(store, n_miners: int, tasks_per_round: int, queue, seed: int | None = 4, obfuscate=tag_obfuscate, **cfg):
    miners = targets(["good"] * n_miners)
    gw = FakeGateway({m.hotkey: FakeMiner("good") for m in miners})
    config = EngineConfig(deadline_s=60, tasks_per_round=tasks_per_round, seed=seed, **cfg)
    eng = Engine(
        store, gw, ListSource(), FakeChain(miners, V), None, V, config, obfuscate, clock=Clock(), external=queue
    )
    eng.active = miners
    return eng, gw


def _assignments(store) -> list[tuple[int, str, str, str]]:
    """(round, hotkey, task id, source) of every copy."""
    with store.transaction() as s:
        rows = s.execute(
            sa.select(Task.round_id, Assignment.hotkey, Task.id, Task.source).join(Assignment).order_by(Assignment.id)
        ).all()
    return [tuple(r) for r in rows]


def test_room_keeps_the_share_over_the_window_and_spreads_within_a_round() -> None:
    assert per_round_limit(5, 0.2) == 1 and per_round_limit(10, 0.2) == 2 and per_round_limit(1, 0.2) == 1
    assert per_round_limit(4, 0.0) == 0
    assert room(Load(), 5, 0.2) == 1  # 1 of 5: exactly the share
    assert room(Load(), 1, 0.2) == 0  # a fresh miner does synthetic work first
    assert room(Load(tasks=4, external=0), 1, 0.2) == 1  # then 1 of 5
    assert room(Load(tasks=5, external=1), 1, 0.2) == 0
    assert room(Load(tasks=100, external=0), 10, 0.2) == 2  # saved-up room is not spent in one round
    assert room(Load(tasks=3, external=3), 1, 1.0) == 1


def test_place_gives_each_task_k_distinct_miners_with_room_lowest_share_first() -> None:
    rooms = {"a": 2, "b": 1, "c": 1, "d": 0}
    placed = place(5, rooms, 3, random.Random(1))
    assert len(placed) == 1 and set(placed[0]) == {"a", "b", "c"}  # then b and c have no room: one task only
    loads = {"a": Load(20, 4), "b": Load(20, 0), "c": Load(20, 1), "d": Load(20, 0)}
    two = place(2, {"a": 1, "b": 1, "c": 1, "d": 1}, 3, random.Random(1), loads, 5)
    assert len(two) == 1 and set(two[0]) == {"b", "c", "d"}  # the one with most external work lately waits
    assert sorted(place(3, {"a": 1, "b": 1}, 3, random.Random(1))[0]) == ["a", "b"]  # fewer miners: all of them
    assert place(3, {"a": 5, "b": 5, "c": 0}, 3, random.Random(1)) == []  # never to fewer than three of three


@pytest.mark.parametrize(("tasks_per_round", "rounds"), [(5, 30), (1, 45)])
async def test_no_miner_over_the_share_and_every_external_task_reaches_three(
    store, tasks_per_round: int, rounds: int
) -> None:
    queue = _queue(store, 60)
    eng, _ = _engine(store, 7, tasks_per_round, queue, external_max_share=0.2, external_window_rounds=20)
    for _ in range(rounds):
        assert await eng.start_round() is not None
    rows = _assignments(store)
    per = defaultdict(lambda: [0, 0])  # (round, hotkey) -> [tasks, external]
    copies_of = Counter()
    for rnd, hk, tid, src in rows:
        per[(rnd, hk)][0] += 1
        per[(rnd, hk)][1] += src == "external"
        if src == "external":
            copies_of[tid] += 1
    assert copies_of and set(copies_of.values()) == {3}
    hotkeys = {hk for _, hk, _, _ in rows}
    assert all(sum(n for (_, h), (n, _) in per.items() if h == hk) == rounds * tasks_per_round for hk in hotkeys)
    for hk in hotkeys:
        for end in range(1, rounds + 1):  # every window of 20 rounds, and every shorter prefix
            window = [per[(r, hk)] for r in range(max(1, end - 19), end + 1)]
            assert sum(e for _, e in window) <= 0.2 * sum(n for n, _ in window) + 1e-9, (hk, end)
        # within a round: at most one, which is the share itself when tasks_per_round = 5
        assert max(per[(r, hk)][1] for r in range(1, rounds + 1)) == 1
    # spread over the miners: each had external tasks, none far above another
    ext_by_miner = Counter(hk for _, hk, _, src in rows if src == "external")
    assert set(ext_by_miner) == hotkeys and max(ext_by_miner.values()) - min(ext_by_miner.values()) <= 2


async def test_with_fewer_than_three_miners_an_external_task_goes_to_all(store) -> None:
    eng, _ = _engine(store, 2, 2, _queue(store, 1), external_max_share=0.5)
    await eng.start_round()
    ext = [r for r in _assignments(store) if r[3] == "external"]
    assert len(ext) == 2 and len({r[1] for r in ext}) == 2


async def test_external_copies_look_like_synthetic_ones(store) -> None:
    """Same payload shape, field order, id formats, criteria and obfuscation; a random place among the miner's tasks."""
    from dojo.synthetic.procedural import generate_task
    from dojo.validator.copies import default_obfuscator
    from dojo.validator.sources import ProceduralSource

    donor = generate_task(77)  # an external task whose documents are of the same kind as synthetic ones
    queue = _queue(store, 1, docs=[r.content for r in donor.responses], prompt=donor.prompt)
    eng, gw = _engine(store, 3, 2, queue, seed=None, obfuscate=default_obfuscator(), external_max_share=0.5)
    eng.source = ProceduralSource(seed=None)
    await eng.start_round()
    await eng.dispatch()
    with store.transaction() as s:
        external_ids = {
            a.miner_task_id
            for a, t in s.execute(sa.select(Assignment, Task).join(Task).where(Task.source == "external")).all()
        }
    assert len(external_ids) == 3
    wire = {str(t.task_id): json.loads(t.model_dump_json()) for _, t in gw.sent}
    ext = [c for tid, c in wire.items() if tid in external_ids]
    syn = [c for tid, c in wire.items() if tid not in external_ids]
    assert len(ext) == 3 and len(syn) == 3

    def shape(copy: dict) -> tuple:
        ids = [copy["task_id"]] + [r["completion_id"] for r in copy["responses"]]
        assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
        return (
            tuple(copy),
            tuple(tuple(r) for r in copy["responses"]),
            json.dumps(copy["criteria"]),
            copy["expire_at"],
            len(copy["responses"]),
        )

    def skeleton(html: str) -> str:
        """The obfuscated document with its payload, keys and mangled names blanked out."""
        html = re.sub(r'"[^"]*"', '"B"', html)
        html = re.sub(r"0x[0-9a-fA-F]+|\b\d+\b", "0", html)
        html = re.sub(r"[A-Za-z_$][\w$]*", "x", html)
        return re.sub(r'\[(?:[x0"B]+,?)*\]', "[L]", html)  # the encoded markup, in as many pieces as it needs

    assert {shape(c) for c in ext} == {shape(c) for c in syn}
    skeletons = {skeleton(r["content"]) for c in ext + syn for r in c["responses"]}
    assert len(skeletons) == 1
    assert not any(r["content"] == d.content for c in ext for r in c["responses"] for d in donor.responses)


async def test_an_external_task_sits_anywhere_among_a_miners_tasks(store) -> None:
    queue = _queue(store, 40)
    eng, gw = _engine(store, 3, 2, queue, seed=None, external_max_share=0.5)
    for _ in range(40):
        await eng.start_round()
        await eng.dispatch()
    with store.transaction() as s:
        external_ids = set(
            s.scalars(sa.select(Assignment.miner_task_id).join(Task).where(Task.source == "external")).all()
        )
    order: dict[str, list[str]] = defaultdict(list)
    for hk, t in gw.sent:
        if isinstance(t, protocol.Task):
            order[hk].append(str(t.task_id))
    first = 0
    n = 0
    for sent in order.values():
        for k in range(0, len(sent), 2):  # each round: the miner's two copies, in the order they were sent
            pair = sent[k : k + 2]
            assert sum(tid in external_ids for tid in pair) == 1
            first += pair[0] in external_ids
            n += 1
    assert n == 120
    assert binomtest(first, n, 0.5).pvalue > 1e-3, first
