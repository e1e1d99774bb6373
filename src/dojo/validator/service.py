"""The running validator: its loops on the profile's timings, and how it is built from settings."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from dojo.config import Settings
from dojo.errors import ChainError, DojoError
from dojo.logs import log
from dojo.validator import procpool
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.metrics import VersionWatch
from dojo.validator.scorer import ScoringParams

logger = logging.getLogger(__name__)


@dataclass
class Intervals:
    """Seconds between runs of each loop."""

    heartbeat: float
    new_round: float
    settle: float
    weights: float


def intervals_from(settings: Settings) -> Intervals:
    """The loops' periods from the profile's timings."""
    t = settings.timings
    return Intervals(
        heartbeat=t.heartbeat_interval_s,
        new_round=t.dispatch_interval_s,
        settle=min(t.collect_interval_s, t.scoring_interval_s),
        weights=max(t.block_time_s, 0.2),
    )


def engine_config(settings: Settings) -> EngineConfig:
    """The engine's knobs from settings."""
    t, v = settings.timings, settings.validator
    return EngineConfig(
        deadline_s=t.task_deadline_s,
        tasks_per_round=v.tasks_per_round,
        seed=v.seed,
        max_labellers=v.max_labellers,
        feedback_attempts=v.feedback_attempts,
        collect_grace_s=t.collect_grace_s,
        retry_backoff_s=t.retry_backoff_s,
        epoch_blocks=t.epoch_blocks,
        max_weight=settings.chain.max_weight,
        scoring=ScoringParams() if v.ema_alpha is None else ScoringParams(alpha=v.ema_alpha),
        external_max_share=v.external_max_share,
    )


@dataclass
class ValidatorService:
    """Runs the engine's steps in four loops until stopped (or until ``max_rounds`` rounds are done)."""

    engine: Engine
    intervals: Intervals
    max_rounds: int | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    versions: VersionWatch | None = None
    #: the start of the planning processes, once the subnet is large enough for a round to use them
    warming: asyncio.Task[None] | None = field(default=None, init=False)

    async def _loop(self, name: str, period: float, step: Callable[[], Awaitable[Any]]) -> None:
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                await step()
            except Exception as exc:  # noqa: BLE001 - a failed pass is logged and retried next period
                log(logger, f"{name}.error", level=logging.ERROR, error=f"{type(exc).__name__}: {exc}"[:500])
                self.engine.metrics.loop_errors.labels(name).inc()
                if isinstance(exc, ChainError):
                    self.engine.metrics.chain_errors.labels(name).inc()
            wait = max(period - (time.monotonic() - started), 0.01)
            try:
                await asyncio.wait_for(self.stop_event.wait(), wait)
            except asyncio.TimeoutError:
                pass

    async def _new_round(self) -> None:
        if self.max_rounds is not None:
            made = await asyncio.to_thread(self.engine.store.rounds_created)
            if made >= self.max_rounds:
                return
        if await self.engine.start_round() is not None:
            await self.engine.dispatch()

    async def _heartbeat(self) -> None:
        await self.engine.refresh_miners()
        self._warm_planning()
        if self.versions is not None:
            await self.versions.check()

    def _warm_planning(self) -> None:
        """Start the planning processes in the background as soon as a round would use them.

        A round with enough copies plans on a pool of processes (:mod:`dojo.validator.procpool`),
        each loading the obfuscation's JavaScript toolchain when it starts: started here, after the
        heartbeat that finds the miners, the first round does not wait for that. A small subnet
        (its rounds are planned in this process) starts none.
        """
        if self.warming is not None:
            return
        copies = len(self.engine.active) * max(self.engine.config.tasks_per_round, 1)
        if not procpool.use_processes(None, copies):
            return

        async def warm() -> None:
            started = time.monotonic()
            try:
                n = await asyncio.to_thread(procpool.warm)
            except Exception as exc:  # noqa: BLE001 - the round then starts the pool itself (or plans here)
                log(logger, "plan.warm_failed", level=logging.WARNING, error=f"{type(exc).__name__}: {exc}"[:300])
                return
            log(logger, "plan.warm", processes=n, seconds=round(time.monotonic() - started, 2))

        self.warming = asyncio.create_task(warm())

    async def _settle(self) -> None:
        await self.engine.settle()
        if self.max_rounds is not None:
            made = await asyncio.to_thread(self.engine.store.rounds_created)
            left = await asyncio.to_thread(self.engine.store.unfinished)
            if made >= self.max_rounds and left == 0:
                await self.engine.set_weights(force=True)
                log(logger, "validator.done", rounds=made)
                self.stop_event.set()

    async def run(self) -> None:
        """Heartbeat first, resume anything a previous run left, then loop."""
        log(logger, "validator.start", max_rounds=self.max_rounds)
        await self._safe(self._heartbeat)
        await self._safe(self.engine.settle)
        await asyncio.gather(
            self._loop("heartbeat", self.intervals.heartbeat, self._heartbeat),
            self._loop("round", self.intervals.new_round, self._new_round),
            self._loop("settle", self.intervals.settle, self._settle),
            self._loop("weights", self.intervals.weights, self.engine.set_weights),
        )
        log(logger, "validator.stop")

    async def _safe(self, step: Callable[[], Awaitable[Any]]) -> None:
        try:
            await step()
        except Exception as exc:  # noqa: BLE001
            log(logger, "validator.step_error", level=logging.ERROR, error=f"{type(exc).__name__}: {exc}"[:500])


def build_source(settings: Settings) -> Any:
    """The task source the settings name."""
    from dojo.validator.sources import HttpSource, ProceduralSource

    v = settings.validator
    if v.task_source == "procedural":
        return ProceduralSource(seed=v.seed, n_responses=v.responses_per_task)
    if v.task_source == "api":
        if not v.synthetic_api_url:
            raise DojoError("task source 'api' needs a synthetic API URL (DOJO_VALIDATOR_SYNTHETIC_API_URL)")
        return HttpSource(v.synthetic_api_url, timeout=settings.timings.request_timeout_s)
    raise DojoError(f"unknown task source {v.task_source!r}: expected 'api' or 'procedural'")


async def run_validator(settings: Settings, max_rounds: int | None = None) -> None:
    """Open wallet, chain, store and transport from settings and run until stopped."""
    from dojo.chain import open_chain
    from dojo.chain.wallets import load_wallet
    from dojo.serving import serve_metrics
    from dojo.transport.client import SignedClient
    from dojo.validator.copies import default_obfuscator
    from dojo.validator.external import ExternalQueue, serve_external_api
    from dojo.validator.gateway import SignedGateway
    from dojo.validator.store.repo import ValidatorStore

    wallet = load_wallet(settings.wallet.name, settings.wallet.hotkey, settings.wallet.path)
    chain = open_chain(settings)
    store = ValidatorStore(settings.validator_db_url())
    source = build_source(settings)
    try:
        obfuscate = default_obfuscator()
    except ImportError as exc:
        raise DojoError(f"the obfuscation toolchain is not available: {exc}") from exc
    hotkey = wallet.hotkey.ss58_address
    if chain.metagraph().by_hotkey(hotkey) is None:
        raise DojoError(f"validator hotkey {hotkey} is not registered on netuid {chain.netuid}: register it first")
    async with SignedClient.from_settings(settings, wallet.hotkey) as client:
        engine = Engine(
            store,
            SignedGateway(client),
            source,
            chain,
            wallet,
            hotkey,
            engine_config(settings),
            obfuscate,
            external=ExternalQueue(store),
        )
        service = ValidatorService(
            engine, intervals_from(settings), max_rounds=max_rounds, versions=VersionWatch(chain, engine.metrics)
        )
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:  # a stop request ends the loops after their current step; state is in the store anyway
                loop.add_signal_handler(sig, service.stop_event.set)
            except (NotImplementedError, RuntimeError):  # not the main thread, or no signals here
                pass
        api = None
        if settings.validator.external_api_token:
            api = await serve_external_api(settings, store)
        v = settings.validator
        metrics = serve_metrics(engine.metrics.registry, v.metrics_host, v.metrics_port, "validator")
        try:
            await service.run()
        finally:
            if api is not None:
                await api.stop()
            if metrics is not None:
                metrics.close()
            store.dispose()
            await asyncio.to_thread(procpool.shutdown)  # the planning processes, if a round or the warm-up started them
            if service.warming is not None:
                await service.warming
