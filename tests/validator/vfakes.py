"""In-process fakes for the validator's edges: a miner gateway with scripted behaviours, a task source, a chain."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from dojo import protocol
from dojo.chain.base import Metagraph, Neuron
from dojo.errors import BadReply, RateLimited, Timeout, Unreachable
from dojo.validator.sources import SourceTask
from dojo.validator.store.records import MinerTarget, NewTask

RANK = re.compile(r"resp-rank-(\d+)")


def make_task(i: int, n: int = 4, ranking: bool = False) -> NewTask:
    """A task whose contents say their own rank (``resp-rank-K``) so fake miners can label well or badly."""
    ids = [str(uuid.UUID(int=(i << 16) + j + 1)) for j in range(n)]
    criteria = {"type": "ranking"} if ranking else {"type": "score", "min": 1, "max": 10}
    return NewTask(
        id=str(uuid.UUID(int=(i << 40) + 7)),
        prompt=f"Build program {i}",
        criteria=criteria,
        responses=[
            {"completion_id": c, "content": f"<html><body>resp-rank-{j} of {i}</body></html>", "model": f"model-{j}"}
            for j, c in enumerate(ids)
        ],
        ground_truth={c: j for j, c in enumerate(ids)},
    )


@dataclass(frozen=True)
class FakeSourceTask(SourceTask):
    """A fake source task whose instances are fake tasks too (contents still say their rank)."""

    ranking: bool = False

    def instance(self, seed: int) -> NewTask:
        return make_task(seed, ranking=self.ranking)


class ListSource:
    """Deterministic fake tasks: round r gets tasks r*100 + i; each miner gets its own instance of them."""

    def __init__(self, ranking: bool = False) -> None:
        self.ranking = ranking
        self.taken = 0

    async def take(self, round_id: int, n: int) -> list[SourceTask]:
        self.taken += n
        return [
            FakeSourceTask(task=make_task(round_id * 100 + i, ranking=self.ranking), ranking=self.ranking)
            for i in range(n)
        ]


class PlainSource:
    """Fake tasks that cannot be instantiated (like an LLM task without a template): each one is distinct."""

    def __init__(self, limit: int | None = None, repeat_every: int | None = None) -> None:
        self.served = 0
        self.limit = limit
        self.repeat_every = repeat_every  # serve task 1 again every so often (a source repeating itself)

    async def take(self, round_id: int, n: int) -> list[SourceTask]:
        out = []
        for _ in range(n):
            if self.limit is not None and self.served >= self.limit:
                break
            self.served += 1
            i = 1 if self.repeat_every and self.served % self.repeat_every == 0 else 10_000 + self.served
            out.append(SourceTask(task=make_task(i)))
        return out


def tag_obfuscate(html: str, seed: int) -> str:
    """A stand-in obfuscator that visibly changes each copy."""
    return f"<!-- o{seed} -->{html}"


@dataclass
class FakeMiner:
    """Behaviours: good, reverse, down, slow, garbage, late, copycat (returns the same answers as 'good')."""

    behaviour: str = "good"
    labellers: int = 2
    tasks: dict[str, protocol.Task] = field(default_factory=dict)
    feedback: dict[str, protocol.Feedback] = field(default_factory=dict)

    def results(self, task: protocol.Task) -> protocol.ResultsReply:
        ranks = {r.completion_id: int(RANK.search(r.content).group(1)) for r in task.responses}
        n = len(ranks)
        ranking = isinstance(task.criteria, protocol.RankingCriterion)
        out = []
        for lab in range(self.labellers):
            if self.behaviour in ("good", "late", "copycat"):
                vals = {c: float(k if ranking else 10 - 2 * k) for c, k in ranks.items()}
            elif self.behaviour == "reverse":
                vals = {c: float(n - 1 - k if ranking else 1 + 2 * k) for c, k in ranks.items()}
            else:  # garbage: unknown completion ids and out-of-range values
                vals = {uuid.uuid4(): 99.0 for _ in ranks}
            when = (
                task.expire_at + timedelta(seconds=5)
                if self.behaviour == "late"
                else task.expire_at - timedelta(seconds=1)
            )
            out.append(
                protocol.LabellerResult(labeller_id=f"{self.behaviour}-lab{lab}", scores=vals, submitted_at=when)
            )
        return protocol.ResultsReply(results=out)


class FakeGateway:
    """A MinerGateway over FakeMiners keyed by hotkey; records every request it carries."""

    def __init__(self, miners: dict[str, FakeMiner]) -> None:
        self.miners = miners
        self.sent: list[tuple[str, Any]] = []

    def _fail(self, hotkey: str) -> Exception | None:
        b = self.miners[hotkey].behaviour
        if b == "down":
            return Unreachable("connection refused")
        if b == "slow":
            return Timeout("no reply within 1s")
        return None

    async def heartbeat(self, miners: list[MinerTarget]) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {
            m.hotkey: self._fail(m.hotkey) or protocol.HeartbeatReply(hotkey=m.hotkey, version="t", worker_api_ok=True)
            for m in miners
        }

    async def send_tasks(self, jobs: list[tuple[MinerTarget, protocol.Task]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for m, t in jobs:
            self.sent.append((m.hotkey, t))
            err = self._fail(m.hotkey)
            if err is None:
                self.miners[m.hotkey].tasks[str(t.task_id)] = t
            out[str(t.task_id)] = err or protocol.TaskAccepted(worker_task_id=f"w-{t.task_id}")
        return out

    async def fetch_results(self, jobs: list[tuple[MinerTarget, str]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for m, tid in jobs:
            self.sent.append((m.hotkey, tid))
            miner = self.miners[m.hotkey]
            if miner.behaviour == "garbage" and tid.endswith("0"):
                out[tid] = BadReply("reply is not a valid ResultsReply")
                continue
            out[tid] = self._fail(m.hotkey) or miner.results(miner.tasks[tid])
        return out

    async def send_feedback(self, jobs: list[tuple[MinerTarget, str, protocol.Feedback]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for m, tid, fb in jobs:
            self.sent.append((m.hotkey, fb))
            err = self._fail(m.hotkey)
            if err is None:
                self.miners[m.hotkey].feedback[tid] = fb
            out[tid] = err or protocol.Empty()
        return out


class FakeChain:
    """A metagraph of given miners plus the validator, a manual block counter, a rate-limited set_weights."""

    netuid = 1

    def __init__(self, miners: list[MinerTarget], validator_hotkey: str, rate_limit: int = 0) -> None:
        self.neurons = [Neuron(uid=0, hotkey=validator_hotkey, coldkey="c0", stake=1e4, validator_permit=True)]
        for m in miners:
            ip, port = m.address.removeprefix("http://").split(":")
            self.neurons.append(
                Neuron(
                    uid=m.uid,
                    hotkey=m.hotkey,
                    coldkey=f"c{m.uid}",
                    stake=0.0,
                    validator_permit=False,
                    ip=ip,
                    port=int(port),
                )
            )
        self.current_block = 100
        self.rate_limit = rate_limit
        self.last_set: int | None = None
        self.submitted: list[dict[int, float]] = []

    def block(self) -> int:
        return self.current_block

    def metagraph(self) -> Metagraph:
        return Metagraph(netuid=1, block=self.current_block, neurons=tuple(self.neurons))

    def publish_address(self, wallet: Any, ip: str, port: int) -> None:  # pragma: no cover - unused
        raise NotImplementedError

    def set_weights(self, wallet: Any, weights: dict[int, float]) -> None:
        if self.last_set is not None and self.current_block - self.last_set < self.rate_limit:
            raise RateLimited("too soon", self.rate_limit - (self.current_block - self.last_set))
        self.last_set = self.current_block
        self.submitted.append(dict(weights))

    def weights(self) -> dict[int, dict[int, float]]:
        return {0: self.submitted[-1]} if self.submitted else {}


def targets(behaviours: list[str]) -> list[MinerTarget]:
    return [
        MinerTarget(uid=i + 1, hotkey=f"hk-{i + 1}-{b}", address=f"http://127.0.0.1:{9000 + i}")
        for i, b in enumerate(behaviours)
    ]


class Clock:
    """A settable clock for stepping past deadlines without sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
