"""Keeps the buffer full in the background; a generator error is counted, logged and retried, never fatal."""

from __future__ import annotations

import asyncio
import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from dojo.logs import log
from dojo.synthetic.generators import Generator
from dojo.synthetic.service.buffer import TaskBuffer

logger = logging.getLogger(__name__)
MAX_BACKOFF_S = 30.0


class Metrics:
    """The service's Prometheus metrics, on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.generated = Counter(
            "dojo_synthetic_tasks_generated_total", "Tasks generated and buffered", ["generator"], registry=r
        )
        self.errors = Counter("dojo_synthetic_generator_errors_total", "Generator failures", ["generator"], registry=r)
        self.served = Counter("dojo_synthetic_tasks_served_total", "Tasks handed out", registry=r)
        self.empty = Counter("dojo_synthetic_empty_pops_total", "Requests answered 204 (buffer empty)", registry=r)
        self.buffered = Gauge("dojo_synthetic_buffer_size", "Tasks waiting in the buffer", registry=r)
        self.seconds = Histogram(
            "dojo_synthetic_generation_seconds",
            "Time to generate one task",
            registry=r,
            buckets=(0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60, 300),
        )


class Filler:
    """``workers`` loops that generate tasks while the buffer holds fewer than ``target``."""

    def __init__(
        self,
        generator: Generator,
        buffer: TaskBuffer,
        target: int,
        metrics: Metrics,
        workers: int = 1,
        backoff_s: float = 0.5,
    ) -> None:
        self.generator, self.buffer, self.target, self.metrics = generator, buffer, max(1, target), metrics
        self.workers = max(1, workers)
        self.backoff_s = backoff_s
        self.errors = 0
        self.last_error: str | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight = 0

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(i), name=f"synthetic-filler-{i}") for i in range(self.workers)]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def wake(self) -> None:
        """Called after a pop: there is room again."""
        self._wake.set()

    async def _run(self, index: int) -> None:
        failures = 0
        while True:
            try:
                size = await self.buffer.size()
                self.metrics.buffered.set(size)
                if size + self._in_flight >= self.target:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                    except asyncio.TimeoutError:
                        pass
                    continue
                self._in_flight += 1
                try:
                    started = time.perf_counter()
                    task = await asyncio.to_thread(self.generator.generate)
                    self.metrics.seconds.observe(time.perf_counter() - started)
                    await self.buffer.push(task.model_dump_json())
                finally:
                    self._in_flight -= 1
                self.metrics.generated.labels(self.generator.name).inc()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the service must outlive any generator or buffer failure
                failures += 1
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                self.metrics.errors.labels(self.generator.name).inc()
                delay = min(MAX_BACKOFF_S, self.backoff_s * 2 ** min(failures - 1, 8))
                log(
                    logger,
                    "synthetic.fill_failed",
                    logging.WARNING,
                    worker=index,
                    error=self.last_error,
                    retry_in_s=delay,
                )
                await asyncio.sleep(delay)
