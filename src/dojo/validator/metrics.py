"""The validator's Prometheus metrics, on a registry of its own (one per engine, so tests and
several validators in one process never collide).

The engine calls the small methods below at each step; they turn a step's replies into
counters, so the engine's code stays about rounds, not about metrics. Names are the contract
with ``deploy/grafana/dojo-subnet.json`` (a test checks every name the dashboard uses).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from dojo import __spec_version__, __version__
from dojo.errors import ChainError, TransportError
from dojo.logs import log
from dojo.versions import spec_of

logger = logging.getLogger(__name__)


def call_error_kind(reply: Any) -> str | None:
    """``None`` for a good reply; else a short, stable kind: timeout, unreachable, rejected, bad_reply, no_reply, error."""
    if reply is None:
        return "no_reply"
    if isinstance(reply, TransportError):
        return reply.kind
    if isinstance(reply, BaseException):
        return "error"
    return None


class ValidatorMetrics:
    """Counters and gauges of one validator."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.rounds = Counter("dojo_validator_rounds", "Rounds by event: created, scored", ["event"], registry=r)
        self.dispatched = Counter(
            "dojo_validator_tasks_dispatched", "Task copies sent to miners, by outcome", ["outcome"], registry=r
        )
        self.collected = Counter(
            "dojo_validator_tasks_collected",
            "Task copies whose results were read, by outcome: labelled, empty, failed",
            ["outcome"],
            registry=r,
        )
        self.scored = Counter(
            "dojo_validator_tasks_scored",
            "Miner scores on tasks, by outcome: above_chance, chance, below_chance",
            ["outcome"],
            registry=r,
        )
        self.feedback = Counter(
            "dojo_validator_feedback", "Feedback messages to miners, by outcome", ["outcome"], registry=r
        )
        self.miners_active = Gauge(
            "dojo_validator_miners_active", "Miners that answered the last heartbeat", registry=r
        )
        self.miners_candidates = Gauge(
            "dojo_validator_miners_candidates", "Miners on the metagraph with a published address", registry=r
        )
        self.call_errors = Counter(
            "dojo_validator_miner_call_errors",
            "Failed calls to miners, by miner uid, call (heartbeat, dispatch, collect, feedback) and kind",
            ["uid", "call", "kind"],
            registry=r,
        )
        self.scoring_seconds = Histogram(
            "dojo_validator_scoring_seconds",
            "Time to score one round",
            registry=r,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.weights = Counter(
            "dojo_validator_weights_set",
            "Weight submissions by status: ok, rate_limited, error",
            ["status"],
            registry=r,
        )
        self.last_weights_block = Gauge(
            "dojo_validator_last_weights_block", "Block of the last weights the chain took", registry=r
        )
        self.last_weights_time = Gauge(
            "dojo_validator_last_weights_timestamp_seconds",
            "When the chain last took this validator's weights",
            registry=r,
        )
        self.chain_errors = Counter(
            "dojo_validator_chain_errors", "Failed chain calls, by operation", ["op"], registry=r
        )
        self.loop_errors = Counter(
            "dojo_validator_loop_errors", "Loop passes that failed, by loop", ["loop"], registry=r
        )
        # versions (DESIGN: a validator must know when the network has moved on without it)
        self.spec_version = Gauge("dojo_validator_spec_version", "This validator's spec version", registry=r)
        self.required_spec_version = Gauge(
            "dojo_validator_required_spec_version", "The chain's required weights version (0: none)", registry=r
        )
        self.outdated = Gauge(
            "dojo_validator_outdated",
            "1 when the chain (source=chain) or a miner (source=peers) expects a newer spec version",
            ["source"],
            registry=r,
        )
        self.miners_by_version = Gauge(
            "dojo_validator_miners_by_version", "Active miners by the version they report", ["version"], registry=r
        )
        self.spec_version.set(__spec_version__)
        for source in ("chain", "peers"):
            self.outdated.labels(source).set(0)
        for outcome in ("accepted", "failed"):
            self.dispatched.labels(outcome)
        for outcome in ("labelled", "empty", "failed"):
            self.collected.labels(outcome)
        for outcome in ("above_chance", "chance", "below_chance"):
            self.scored.labels(outcome)
        for status in ("ok", "rate_limited", "error"):
            self.weights.labels(status)
        for event in ("created", "scored"):
            self.rounds.labels(event)
        self._versions: set[str] = set()

    def render(self) -> bytes:
        """The exposition text (what ``/metrics`` serves)."""
        return generate_latest(self.registry)

    def _errors(self, call: str, replies: Iterable[tuple[int, Any]]) -> int:
        failed = 0
        for uid, reply in replies:
            kind = call_error_kind(reply)
            if kind is not None:
                self.call_errors.labels(str(uid), call, kind).inc()
                failed += 1
        return failed

    # ---- one method per engine step -------------------------------------------------------

    def heartbeat(self, replies: Sequence[tuple[int, Any, bool]]) -> None:
        """``[(uid, reply or error, kept as active)]`` of one heartbeat pass."""
        self.miners_candidates.set(len(replies))
        self.miners_active.set(sum(1 for *_, ok in replies if ok))
        for uid, reply, ok in replies:
            if not ok:
                self.call_errors.labels(str(uid), "heartbeat", call_error_kind(reply) or "bad_reply").inc()
        versions = Tally(str(getattr(reply, "version", "")) for _, reply, ok in replies if ok)
        for gone in self._versions - set(versions):
            self.miners_by_version.labels(gone).set(0)
        for version, n in versions.items():
            self.miners_by_version.labels(version).set(n)
        self._versions = set(versions)

    @property
    def peer_versions(self) -> set[str]:
        """The versions the miners kept at the last heartbeat reported."""
        return set(self._versions)

    def dispatch(self, replies: Sequence[tuple[int, Any]]) -> None:
        """``[(uid, TaskAccepted or error)]`` of one dispatch pass."""
        failed = self._errors("dispatch", replies)
        self.dispatched.labels("failed").inc(failed)
        self.dispatched.labels("accepted").inc(len(replies) - failed)

    def collect(self, replies: Sequence[tuple[int, Any, int]]) -> None:
        """``[(uid, ResultsReply or error, rows kept)]`` of one collect pass."""
        failed = self._errors("collect", [(uid, r) for uid, r, _ in replies])
        self.collected.labels("failed").inc(failed)
        for _, r, rows in replies:
            if call_error_kind(r) is None:
                self.collected.labels("labelled" if rows else "empty").inc()

    def scores(self, task_scores: Iterable[tuple[Any, ...]], seconds: float) -> None:
        """A scored round: its per-(task, miner) scores (the last item of each tuple) and the time it took."""
        self.rounds.labels("scored").inc()
        self.scoring_seconds.observe(seconds)
        for row in task_scores:
            score = float(row[-1])
            self.scored.labels("above_chance" if score > 0 else "below_chance" if score < 0 else "chance").inc()

    def feedback_sent(self, replies: Sequence[tuple[int, Any]]) -> None:
        """``[(uid, Empty or error)]`` of one feedback pass."""
        failed = self._errors("feedback", replies)
        self.feedback.labels("failed").inc(failed)
        self.feedback.labels("delivered").inc(len(replies) - failed)

    def weights_attempt(self, status: str, block: int) -> None:
        """One weight submission and how the chain answered."""
        self.weights.labels(status).inc()
        if status == "ok":
            self.last_weights_block.set(block)
            self.last_weights_time.set(time.time())
        elif status == "error":
            self.chain_errors.labels("set_weights").inc()

    # ---- versions ------------------------------------------------------------------------

    def chain_requires(self, required: int) -> bool:
        """Note the chain's required weights version; True when it is newer than this validator's."""
        self.required_spec_version.set(required)
        newer = required > __spec_version__
        self.outdated.labels("chain").set(1 if newer else 0)
        return newer

    def peers_newer(self, versions: Iterable[str]) -> list[str]:
        """Of the versions miners report, those newer than this validator's (and flag them)."""
        newer = sorted({v for v in versions if (spec_of(v) or 0) > __spec_version__})
        self.outdated.labels("peers").set(1 if newer else 0)
        return newer


class VersionWatch:
    """Warns, in the log and in ``dojo_validator_outdated``, when the chain or a miner expects a newer
    spec version than this validator's. It logs when that picture changes, not on every pass."""

    def __init__(self, chain: Any, metrics: ValidatorMetrics) -> None:
        self.chain = chain
        self.metrics = metrics
        self._last: tuple[int, tuple[str, ...]] | None = None

    async def check(self) -> bool:
        """Read the chain's required version, compare the miners' last reported ones; True when outdated."""
        required = 0
        read = getattr(self.chain, "weights_version", None)
        if read is not None:
            try:
                required = int(await asyncio.to_thread(read))
            except ChainError as exc:
                self.metrics.chain_errors.labels("weights_version").inc()
                log(logger, "version.unknown", level=logging.WARNING, error=str(exc)[:300])
                required = self._last[0] if self._last else 0  # keep what was last known
        chain_newer = self.metrics.chain_requires(required)
        newer = tuple(self.metrics.peers_newer(self.metrics.peer_versions))
        state = (required, newer)
        if state != self._last and (chain_newer or newer):
            log(
                logger,
                "version.outdated",
                level=logging.WARNING,
                version=__version__,
                spec_version=__spec_version__,
                chain_requires=required,
                newer_miners=",".join(newer) or "-",
                hint="the network runs a newer Dojo: update (git pull && pip install -e .) and restart"
                + (" - the chain refuses this validator's weights until then" if chain_newer else ""),
            )
        elif state != self._last and self._last is not None:
            log(logger, "version.current", version=__version__, spec_version=__spec_version__, chain_requires=required)
        self._last = state
        return chain_newer or bool(newer)
