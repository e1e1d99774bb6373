"""Collection survives a miner restart (issue 12, fault 5): an unreachable miner is asked again, with
doubling waits, until a grace period after the deadline; only then does it score 0. Feedback that
could not be delivered is tried again on later passes, spaced out, up to a bound; scoring never waits
for it."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import sqlalchemy as sa
from bittensor.keyfiles import Keypair
from http_miners import MinerFleet, create_app
from vfakes import Clock, FakeChain, FakeGateway, FakeMiner, ListSource, tag_obfuscate, targets

from dojo import serving
from dojo.chain.wallets import create_wallet
from dojo.transport.client import SignedClient
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.gateway import SignedGateway
from dojo.validator.store.models import Assignment, TaskScore
from dojo.validator.store.records import MinerTarget
from dojo.validator.store.repo import ValidatorStore

VALIDATOR = "5ValidatorHotkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
DEADLINE = 60.0
GRACE = 120.0
BACKOFF = 5.0


def _engine(
    store: ValidatorStore, behaviours: list[str], feedback_attempts: int = 3, grace: float = GRACE
) -> tuple[Engine, FakeGateway, list[MinerTarget], Clock]:
    miners = targets(behaviours)
    gw = FakeGateway({m.hotkey: FakeMiner(b) for m, b in zip(miners, behaviours, strict=True)})
    clock = Clock()
    cfg = EngineConfig(
        deadline_s=DEADLINE,
        tasks_per_round=1,
        seed=5,
        collect_grace_s=grace,
        retry_backoff_s=BACKOFF,
        feedback_attempts=feedback_attempts,
    )
    engine = Engine(
        store, gw, ListSource(), FakeChain(miners, VALIDATOR), None, VALIDATOR, cfg, tag_obfuscate, clock=clock
    )
    engine.active = miners
    return engine, gw, miners, clock


def _copies(store: ValidatorStore, hotkey: str) -> list[tuple[str, str | None, int]]:
    with store.transaction() as s:
        rows = s.scalars(sa.select(Assignment).where(Assignment.hotkey == hotkey).order_by(Assignment.id)).all()
        return [(a.state, a.error, a.feedback_attempts) for a in rows]


def _scores(store: ValidatorStore, hotkey: str) -> list[float]:
    with store.transaction() as s:
        return [r.score for r in s.scalars(sa.select(TaskScore).where(TaskScore.hotkey == hotkey)).all()]


def _reads(gw: FakeGateway, hotkey: str) -> int:
    """How many results reads the gateway carried to ``hotkey`` (a read is sent as the copy's task id)."""
    return sum(1 for hk, what in gw.sent if hk == hotkey and isinstance(what, str))


async def test_miner_back_within_grace_is_collected_and_scored(store) -> None:
    engine, gw, miners, clock = _engine(store, ["good", "good"])
    back = miners[1].hotkey
    await engine.start_round()
    await engine.dispatch()
    gw.miners[back].behaviour = "down"  # killed after it took the task
    clock.advance(DEADLINE + 1)
    assert await engine.collect() == 2  # each miner has its own instance of the task
    assert _copies(store, back)[0][0] == "dispatched" and _copies(store, back)[0][1].startswith("collect: ")
    assert _copies(store, miners[0].hotkey)[0][0] == "collected"
    assert await engine.score() == []  # the round waits for the copy still to be read

    # doubling waits: asked again BACKOFF after the first try (deadline + 1), then after as long as it has
    # been since the deadline: at + 6, + 12, + 24
    tries = [_reads(gw, back)]
    for step in (1, BACKOFF - 1, 1, BACKOFF, 1, 2 * BACKOFF + 1):
        clock.advance(step)
        await engine.collect()
        tries.append(_reads(gw, back))
    assert tries == [1, 1, 2, 2, 3, 3, 4]

    gw.miners[back].behaviour = "good"  # restarted, its labels intact
    clock.advance(23)
    assert await engine.collect() == 0  # waiting its turn (+ 48)
    clock.advance(1)
    assert await engine.collect() == 1
    assert _copies(store, back)[0][:2] == ("collected", None)
    assert await engine.score() == [1]
    assert _scores(store, back)[0] > 0.7
    assert await engine.feedback() == 2
    assert store.task_counts() == {"fed_back": 2}


async def test_miner_down_past_grace_scores_zero(store) -> None:
    engine, gw, miners, clock = _engine(store, ["good", "good", "good"])
    await engine.start_round()
    await engine.dispatch()
    gw.miners[miners[1].hotkey].behaviour = "down"
    gw.miners[miners[2].hotkey].behaviour = "garbage"
    clock.advance(DEADLINE + 1)
    await engine.collect()
    # a miner that answered wrongly is not asked again: only the unreachable one waits
    assert _copies(store, miners[2].hotkey)[0][0] != "dispatched"
    assert _copies(store, miners[1].hotkey)[0][0] == "dispatched"
    elapsed = 1.0
    while await engine.score() == []:
        assert elapsed <= GRACE + BACKOFF, "the round never became scorable"
        clock.advance(BACKOFF)
        elapsed += BACKOFF
        await engine.collect()
    assert elapsed >= GRACE  # not given up before the grace period was over
    state, error, _ = _copies(store, miners[1].hotkey)[0]
    assert state == "collect_failed" and "Unreachable" in (error or "")
    assert _scores(store, miners[1].hotkey) == [0.0]
    assert _scores(store, miners[0].hotkey)[0] > 0.7


async def test_grace_zero_keeps_one_read(store) -> None:
    engine, gw, miners, clock = _engine(store, ["good", "good"], grace=0.0)
    await engine.start_round()
    await engine.dispatch()
    gw.miners[miners[1].hotkey].behaviour = "down"
    clock.advance(DEADLINE + 1)
    await engine.collect()
    assert _copies(store, miners[1].hotkey)[0][0] == "collect_failed"
    assert await engine.score() == [1]


async def test_failed_feedback_is_retried_on_later_passes_up_to_a_bound(store) -> None:
    engine, gw, miners, clock = _engine(store, ["good", "good", "good"], feedback_attempts=4)
    flaky, dead = miners[1].hotkey, miners[2].hotkey
    await engine.start_round()
    await engine.dispatch()
    clock.advance(DEADLINE + 1)
    await engine.collect()
    assert await engine.score() == [1]
    gw.miners[flaky].behaviour = gw.miners[dead].behaviour = "down"
    assert await engine.feedback() == 3
    assert [c[2] for c in _copies(store, flaky)] == [1]
    assert await engine.feedback() == 0  # not spent at once: waits BACKOFF

    # a later round is planned, collected and scored while feedback of round 1 is still owed
    gw.miners[flaky].behaviour = gw.miners[dead].behaviour = "good"
    await engine.start_round()
    await engine.dispatch()
    clock.advance(DEADLINE + 1)
    await engine.collect()
    gw.miners[flaky].behaviour = gw.miners[dead].behaviour = "down"
    assert await engine.score() == [2]
    await engine.feedback()  # round 2's first try, round 1's second (DEADLINE + 1 > BACKOFF has passed)
    assert [c[2] for c in _copies(store, flaky)] == [2, 1]

    gw.miners[flaky].behaviour = "good"  # back: both rounds' feedback arrives on the next due pass
    clock.advance(2 * BACKOFF)
    await engine.feedback()
    assert [c[0] for c in _copies(store, flaky)] == ["fed_back", "fed_back"]
    assert len(gw.miners[flaky].feedback) == 2

    waits = 0.0
    while any(c[0] == "collected" for c in _copies(store, dead)):
        clock.advance(BACKOFF)
        waits += BACKOFF
        await engine.feedback()
        assert waits < 100 * BACKOFF, "feedback was retried without bound"
    assert [c[:1] + c[2:] for c in _copies(store, dead)] == [("feedback_failed", 4), ("feedback_failed", 4)]
    assert waits >= 6 * BACKOFF  # round 2's last tries waited 2 and 4 x BACKOFF: spread out, not spent at once
    assert store.unfinished() == 0  # given up: at rest


# ---- over real HTTP: a miner server stopped across the deadline and started again on its port ----


class Restartable:
    """One fake miner (http_miners.create_app) whose server can be stopped and started again on its port,
    keeping its tasks: as a miner process restarts with its store."""

    def __init__(self, fleet: MinerFleet, i: int) -> None:
        self.state = fleet.states[i]
        self.port = fleet.ports[i]
        self.server: serving.ServerThread | None = None

    def start(self) -> None:
        self.server = serving.start_thread(create_app(self.state), port=self.port, lifespan="off")

    def stop(self) -> None:
        assert self.server is not None
        self.server.stop()
        assert not self.server.thread.is_alive()


async def test_miner_restarted_over_http_within_grace_is_scored(store, tmp_home) -> None:
    wallet = create_wallet("val", "hot", tmp_home / "wallets")
    hotkeys = [Keypair.create_from_uri(f"//retry-miner-{i}").ss58_address for i in range(2)]
    # the second miner is "down" for the fleet (not started by it): this test starts and stops it
    with MinerFleet([(hotkeys[0], "good"), (hotkeys[1], "down")]) as fleet:
        fleet.states[1].behaviour = "good"
        restartable = Restartable(fleet, 1)
        restartable.start()
        miners = [MinerTarget(uid=i + 1, hotkey=hk, address=fleet.address(i)) for i, hk in enumerate(hotkeys)]
        chain = FakeChain(miners, wallet.hotkey.ss58_address)
        async with SignedClient(wallet.hotkey, timeout=2.0) as client:
            cfg = EngineConfig(deadline_s=1.0, tasks_per_round=2, seed=None, collect_grace_s=120, retry_backoff_s=0.1)
            engine = Engine(
                store,
                SignedGateway(client),
                ListSource(),
                chain,
                wallet,
                wallet.hotkey.ss58_address,
                cfg,
                tag_obfuscate,
            )
            await engine.start_round(miners)
            await engine.dispatch()
            assert store.task_counts() == {"dispatched": 4}
            restartable.stop()  # killed with two labelled tasks, across their deadline

            bound = time.monotonic() + 30
            while not await engine.collect():
                assert time.monotonic() < bound, "tasks never became due"
                await asyncio.sleep(0.05)
            copies = _copies(store, hotkeys[1])
            assert [c[0] for c in copies] == ["dispatched", "dispatched"]
            assert all((c[1] or "").startswith("collect: Unreachable") for c in copies)
            assert await engine.score() == []

            restartable.start()  # back on the same port, with its tasks
            bound = time.monotonic() + 30
            while store.task_counts() != {"collected": 4}:
                assert time.monotonic() < bound, f"never collected: {store.task_counts()}"
                await asyncio.sleep(0.1)
                await engine.collect()
            assert await engine.score() == [1]
            await engine.feedback()
            restartable.stop()

    assert [c[:2] for c in _copies(store, hotkeys[1])] == [("fed_back", None)] * 2
    scores = _scores(store, hotkeys[1])
    assert len(scores) == 2 and all(s > 0.7 for s in scores), scores
    assert len(fleet.states[1].feedback) == 2
    assert store.task_counts() == {"fed_back": 4}


def test_backoff_counts_from_the_deadline() -> None:
    """The store's rule on its own: after a failed read at deadline + t, the next is due at + max(backoff, t)."""
    from datetime import datetime, timezone

    from dojo.validator.store.collect import _collect_due

    deadline = datetime(2026, 1, 1, tzinfo=timezone.utc)
    a = Assignment(error="collect: Unreachable: x", updated_at=deadline + timedelta(seconds=40))
    assert not _collect_due(a, deadline, deadline + timedelta(seconds=79), 5, 600)
    assert _collect_due(a, deadline, deadline + timedelta(seconds=80), 5, 600)
    assert _collect_due(a, deadline, deadline + timedelta(seconds=60), 5, 60)  # the last chance is at grace
    assert _collect_due(Assignment(error=None, updated_at=deadline), deadline, deadline, 5, 60)
