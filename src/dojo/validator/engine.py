"""The validator's steps (DESIGN §3), each resumable: run any of them at any time, after any crash.

Every step reads what is due from the store, does its network or CPU work outside a
transaction, then writes the outcome in ONE transaction. A kill between the two repeats the
network call on restart (miners treat a repeated copy or feedback as the same one), never the
write, so nothing is lost and nothing is counted twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from dojo import protocol
from dojo.chain.base import Chain
from dojo.errors import ChainError, RateLimited
from dojo.logs import log
from dojo.validator.collect import describe, map_results, may_retry
from dojo.validator.copies import Obfuscator, wire_task
from dojo.validator.gateway import MinerGateway
from dojo.validator.metrics import ValidatorMetrics
from dojo.validator.planner import ExternalTasks, PlanRules, plan_new_round
from dojo.validator.scorer import ScoringParams, score_stored_round
from dojo.validator.sources import TaskSource
from dojo.validator.store.records import MinerTarget
from dojo.validator.store.repo import ValidatorStore
from dojo.validator.weights import compute_weights

if TYPE_CHECKING:
    from bittensor_wallet import Wallet

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(timezone.utc)


@dataclass
class EngineConfig:
    """What the steps need to know; built from settings by the service."""

    deadline_s: float = 3600.0
    tasks_per_round: int = 1
    seed: int | None = None
    max_labellers: int = 3
    feedback_attempts: int = 3
    #: an unreachable miner is asked for its results again until this long after the deadline (0: one try)
    collect_grace_s: float = 0.0
    #: first wait before asking an unreachable miner again (collect and feedback); the waits double
    retry_backoff_s: float = 0.0
    epoch_blocks: int = 100
    max_weight: float = 1.0
    scoring: ScoringParams = field(default_factory=ScoringParams)
    #: a copy planned before a crash is re-sent with a fresh deadline when less than this fraction is left
    min_deadline_left: float = 0.5
    #: most of a miner's tasks that may be external, over its last ``external_window_rounds`` rounds
    external_max_share: float = 0.2
    external_window_rounds: int = 20
    #: miners each external task goes to (all of them when there are fewer): consensus needs three
    external_replicas: int = 3

    def plan_rules(self) -> PlanRules:
        """The round's shape as the planner needs it."""
        return PlanRules(
            tasks_per_round=self.tasks_per_round,
            seed=self.seed,
            external_max_share=self.external_max_share,
            external_replicas=self.external_replicas,
            external_window_rounds=self.external_window_rounds,
        )


class Engine:
    """The round logic over injectable edges: store, miner gateway, task source, chain."""

    def __init__(
        self,
        store: ValidatorStore,
        gateway: MinerGateway,
        source: TaskSource,
        chain: Chain | None,
        wallet: Wallet | None,
        self_hotkey: str,
        config: EngineConfig,
        obfuscate: Obfuscator | None,
        clock: Callable[[], datetime] = utc_now,
        external: ExternalTasks | None = None,
        metrics: ValidatorMetrics | None = None,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.source = source
        self.chain = chain
        self.wallet = wallet
        self.self_hotkey = self_hotkey
        self.config = config
        self.obfuscate = obfuscate
        self.clock = clock
        self.external = external  # the external-task queue
        self.metrics = metrics or ValidatorMetrics()
        self.active: list[MinerTarget] = []
        self.weights_not_before = 0
        self._dispatching = asyncio.Lock()  # the round loop and the settle loop both dispatch

    async def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.to_thread(fn, *args)

    # ---- heartbeat -----------------------------------------------------------------------

    async def refresh_miners(self) -> list[MinerTarget]:
        """Miners on the metagraph with an address that answer a heartbeat."""
        if self.chain is None:
            return self.active
        meta = await asyncio.to_thread(self.chain.metagraph)
        candidates = [
            MinerTarget(n.uid, n.hotkey, n.address) for n in meta.neurons if n.address and n.hotkey != self.self_hotkey
        ]
        replies = await self.gateway.heartbeat(candidates)
        active = []
        for m in candidates:
            r = replies.get(m.hotkey)
            if isinstance(r, protocol.HeartbeatReply) and r.hotkey == m.hotkey:
                active.append(m)
            else:
                log(
                    logger,
                    "miner.inactive",
                    level=logging.DEBUG,
                    uid=m.uid,
                    hotkey=m.hotkey,
                    reason=describe(r) if isinstance(r, BaseException) else "bad heartbeat",
                )
        self.active = sorted(active, key=lambda m: m.uid)
        self.metrics.heartbeat([(m.uid, replies.get(m.hotkey), m in active) for m in candidates])
        log(logger, "heartbeat", candidates=len(candidates), active=len(self.active))
        return self.active

    # ---- new round -----------------------------------------------------------------------

    async def start_round(self, miners: list[MinerTarget] | None = None) -> int | None:
        """Plan a round — external tasks within the cap, every miner's own synthetic instances, every
        copy — and store it with its plan in one transaction (:mod:`dojo.validator.planner`)."""
        miners = self.active if miners is None else miners
        if not miners:
            log(logger, "round.skipped", reason="no active miners")
            return None
        round_id = await self._db(self.store.next_round_id)
        expire_at = self.clock() + timedelta(seconds=self.config.deadline_s)
        plan = await plan_new_round(
            self.store,
            self.source,
            self.external,
            miners,
            round_id,
            self.config.plan_rules(),
            expire_at,
            self.obfuscate,
        )
        if not plan.tasks:
            log(logger, "round.skipped", reason="no tasks from the source")
            return None
        await self._db(self.store.create_round, round_id, plan.tasks, plan.assignments)
        self.metrics.rounds.labels("created").inc()
        log(
            logger,
            "round.created",
            round=round_id,
            tasks=len(plan.tasks),
            miners=len(miners),
            copies=len(plan.assignments),
            instances=plan.instances,
            external=plan.external,
            fallbacks=plan.fallbacks,
        )
        return round_id

    # ---- dispatch ------------------------------------------------------------------------

    async def dispatch(self) -> int:
        """Send every planned copy (also those left by a crash); returns how many were sent."""
        async with self._dispatching:
            return await self._dispatch()

    async def _dispatch(self) -> int:
        planned = await self._db(self.store.planned)
        if not planned:
            return 0
        now = self.clock()
        stale = [
            a.id
            for a in planned
            if (a.expire_at - now).total_seconds() < self.config.min_deadline_left * self.config.deadline_s
        ]
        if stale:
            fresh = now + timedelta(seconds=self.config.deadline_s)
            await self._db(self.store.refresh_expiry, stale, fresh)
            planned = await self._db(self.store.planned)
        jobs = [(a.miner, wire_task(a.payload, a.expire_at)) for a in planned]
        replies = await self.gateway.send_tasks(jobs)
        outcomes: dict[int, tuple[str | None, str | None]] = {}
        for a in planned:
            r = replies.get(a.miner_task_id)
            if isinstance(r, protocol.TaskAccepted):
                outcomes[a.id] = (r.worker_task_id, None)
            else:
                reason = describe(r) if isinstance(r, BaseException) else "no reply"
                outcomes[a.id] = (None, reason)
                log(
                    logger,
                    "dispatch.failed",
                    level=logging.WARNING,
                    task_id=a.task_id,
                    uid=a.miner.uid,
                    hotkey=a.miner.hotkey,
                    reason=reason,
                )
        self.metrics.dispatch([(a.miner.uid, replies.get(a.miner_task_id)) for a in planned])
        await self._db(self.store.record_dispatch, outcomes)
        log(logger, "dispatch", copies=len(planned), accepted=sum(1 for w, _ in outcomes.values() if w))
        return len(planned)

    # ---- collect -------------------------------------------------------------------------

    async def collect(self) -> int:
        """Read results of every task past its deadline; returns how many tasks were read from.

        A miner that could not be reached is asked again, with doubling waits, until ``collect_grace_s``
        after the deadline (its task, and so its round, waits for it); then it scores 0 on that copy.
        """
        cfg = self.config
        due = await self._db(self.store.due_for_collect, self.clock(), cfg.retry_backoff_s, cfg.collect_grace_s)
        if not due:
            return 0
        views = [v for vs in due.values() for v in vs]
        replies = await self.gateway.fetch_results([(v.miner, v.miner_task_id) for v in views])
        now = self.clock()
        for task_id, vs in due.items():
            outcomes = {}
            retryable = set()
            for v in vs:
                reply = replies.get(v.miner_task_id, RuntimeError("no reply"))
                outcomes[v.id] = map_results(v, reply, cfg.max_labellers)
                if outcomes[v.id].error and may_retry(reply):
                    retryable.add(v.id)
            self.metrics.collect([(v.miner.uid, replies.get(v.miner_task_id), len(outcomes[v.id].rows)) for v in vs])
            again = await self._db(
                self.store.record_collect, task_id, outcomes, now, cfg.collect_grace_s, frozenset(retryable)
            )
            for v in vs:
                if outcomes[v.id].error:
                    log(
                        logger,
                        "collect.retry" if v.id in again else "collect.failed",
                        level=logging.WARNING,
                        task_id=task_id,
                        uid=v.miner.uid,
                        hotkey=v.miner.hotkey,
                        reason=outcomes[v.id].error,
                    )
        log(logger, "collect", tasks=len(due), copies=len(views))
        return len(due)

    # ---- score ---------------------------------------------------------------------------

    async def score(self) -> list[int]:
        """Score every round that is fully collected, oldest first; returns the rounds scored."""
        done: list[int] = []
        while True:
            rnd = await self._db(self.store.round_to_score)
            if rnd is None:
                return done
            started = time.perf_counter()
            result = await asyncio.to_thread(score_stored_round, rnd, self.config.scoring)
            if await self._db(self.store.record_scores, result):
                done.append(rnd.round_id)
                self.metrics.scores(result.task_scores, time.perf_counter() - started)
                log(
                    logger,
                    "round.scored",
                    round=rnd.round_id,
                    scores=len(result.task_scores),
                    miners=len(result.running),
                )

    # ---- feedback ------------------------------------------------------------------------

    async def feedback(self) -> int:
        """Tell miners their score, the truth in their own ids and each labeller's grade; returns jobs tried."""
        jobs = await self._db(self.store.feedback_jobs, self.clock(), self.config.retry_backoff_s)
        if not jobs:
            return 0
        msgs = []
        for j in jobs:
            fb = protocol.Feedback(
                score=min(max(j.score, 0.0), 1.0), ground_truth=j.ground_truth, per_labeller=j.per_labeller
            )
            msgs.append((j.miner, j.miner_task_id, fb))
        replies = await self.gateway.send_feedback(msgs)
        outcomes: dict[int, str | None] = {}
        for j in jobs:
            r = replies.get(j.miner_task_id)
            outcomes[j.assignment_id] = (
                None if isinstance(r, protocol.Empty) else (describe(r) if isinstance(r, BaseException) else "no reply")
            )
        self.metrics.feedback_sent([(j.miner.uid, replies.get(j.miner_task_id)) for j in jobs])
        await self._db(self.store.record_feedback, outcomes, self.config.feedback_attempts, self.clock())
        log(logger, "feedback", copies=len(jobs), delivered=sum(1 for e in outcomes.values() if e is None))
        return len(jobs)

    # ---- weights -------------------------------------------------------------------------

    async def set_weights(self, force: bool = False) -> bool:
        """Set weights once per epoch from the running scores; True when the chain took them."""
        if self.chain is None or self.wallet is None:
            return False
        block = await asyncio.to_thread(self.chain.block)
        last = await self._db(self.store.last_weights_block)
        if block < self.weights_not_before:
            return False
        if not force and last is not None and block - last < self.config.epoch_blocks:
            return False
        running = await self._db(self.store.running_states)
        if not running:
            return False
        meta = await asyncio.to_thread(self.chain.metagraph)
        weights = compute_weights(running, meta, self.config.max_weight, self.config.scoring)
        if not weights:
            return False
        try:
            await asyncio.to_thread(self.chain.set_weights, self.wallet, weights)
        except RateLimited as exc:
            self.weights_not_before = block + max(int(exc.blocks_to_wait), 1)
            await self._db(self.store.record_weights, block, weights, "rate_limited", str(exc))
            self.metrics.weights_attempt("rate_limited", block)
            log(logger, "weights.rate_limited", level=logging.WARNING, block=block, wait_blocks=exc.blocks_to_wait)
            return False
        except ChainError as exc:
            await self._db(self.store.record_weights, block, weights, "error", str(exc))
            self.metrics.weights_attempt("error", block)
            log(logger, "weights.failed", level=logging.WARNING, block=block, error=str(exc))
            return False
        await self._db(self.store.record_weights, block, weights, "ok", None)
        self.metrics.weights_attempt("ok", block)
        log(logger, "weights.set", block=block, miners=len(weights))
        return True

    async def settle(self) -> None:
        """One pass of every step after the heartbeat/new-round ones: dispatch, collect, score, feedback."""
        await self.dispatch()
        await self.collect()
        await self.score()
        await self.feedback()
