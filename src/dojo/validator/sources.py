"""Where tasks come from: the synthetic API over HTTP, or the procedural generator in process.

A source task is not sent as it is: it names a program family and difficulty, and the validator
makes every miner its own instance of it (:meth:`SourceTask.instance`, DESIGN §7 "no resale").
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from dojo.logs import log
from dojo.validator.store.records import NewTask

if TYPE_CHECKING:
    from dojo.synthetic.models import SyntheticTask

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceTask:
    """One task from a source: as the store would keep it, and the generator's task it came from.

    ``origin`` is what per-miner instances are made from; without it (or when its generator left
    no template) the task can only be sent as it is, to one miner.
    """

    task: NewTask
    origin: SyntheticTask | None = None

    def instance(self, seed: int) -> NewTask:
        """A fresh instance of this task's family and difficulty for ``seed`` (own ids, own truth).

        Raises :class:`dojo.synthetic.instances.InstanceError` when none can be made.
        """
        from dojo.errors import InstanceError
        from dojo.synthetic.instances import instantiate

        if self.origin is None:
            raise InstanceError(f"task {self.task.id} came without its generator's description")
        return from_synthetic(instantiate(self.origin, seed))


class TaskSource(Protocol):
    """Gives the validator fresh synthetic tasks (with their ground truth)."""

    async def take(self, round_id: int, n: int) -> list[SourceTask]:
        """Up to ``n`` tasks for round ``round_id`` (fewer, or none, when the source has none ready)."""
        ...


def source_task(task: Any) -> SourceTask:
    """A ``SyntheticTask`` (or its JSON) as a source task that can make per-miner instances."""
    from dojo.synthetic.models import SyntheticTask

    t = task if isinstance(task, SyntheticTask) else SyntheticTask.model_validate(task)
    return SourceTask(task=from_synthetic(t), origin=t)


def from_synthetic(task: Any) -> NewTask:
    """A ``dojo.synthetic.models.SyntheticTask`` (or its JSON) as a task for the store."""
    from dojo.synthetic.models import SyntheticTask

    t = task if isinstance(task, SyntheticTask) else SyntheticTask.model_validate(task)
    return NewTask(
        id=str(t.task_id),
        prompt=t.prompt,
        criteria=t.criteria,
        responses=[
            {"completion_id": str(r.completion_id), "content": r.content, "model": r.model} for r in t.responses
        ],
        ground_truth={str(k): int(v) for k, v in t.ground_truth.items()},
        source="synthetic",
    )


def task_seed(seed: int, round_id: int, index: int) -> int:
    """The generator seed of task ``index`` of round ``round_id`` under a validator seed."""
    digest = hashlib.sha256(f"dojo-task|{seed}|{round_id}|{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class ProceduralSource:
    """Tasks from ``dojo.synthetic.procedural.generate_task``; reproducible when given a seed."""

    def __init__(self, seed: int | None = None, n_responses: int = 4) -> None:
        self.seed = seed
        self.n_responses = n_responses

    def _one(self, round_id: int, index: int) -> SourceTask:
        from dojo.synthetic.procedural import generate_task

        s = task_seed(self.seed, round_id, index) if self.seed is not None else secrets.randbits(62)
        return source_task(generate_task(s, self.n_responses))

    async def take(self, round_id: int, n: int) -> list[SourceTask]:
        return await asyncio.to_thread(lambda: [self._one(round_id, i) for i in range(n)])


class HttpSource:
    """Tasks popped from the synthetic API (``GET /api/v1/tasks/next``: 200 a task, 204 none ready)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    async def take(self, round_id: int, n: int) -> list[SourceTask]:
        out: list[SourceTask] = []
        async with httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout) as client:
            for _ in range(n):
                try:
                    resp = await client.get("/api/v1/tasks/next")
                except httpx.HTTPError as exc:
                    log(logger, "source.unreachable", level=logging.WARNING, url=self.base_url, error=repr(exc))
                    break
                if resp.status_code == 204:
                    break
                if resp.status_code != 200:
                    log(logger, "source.error", level=logging.WARNING, status=resp.status_code, body=resp.text[:200])
                    break
                try:
                    out.append(source_task(resp.json()))
                except ValueError as exc:
                    log(logger, "source.bad_task", level=logging.WARNING, error=str(exc)[:300])
        return out
