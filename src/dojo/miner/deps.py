"""What the miner's routes get through dependencies: the miner's parts, the verified caller, the parsed body.

Every signed endpoint takes ``Caller`` (the ``ValidatorGate`` has checked the signature over the
raw body and that the caller is a validator) and then a ``Body`` parsed from those same bytes, so
a body is never parsed before its signature is checked.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import Depends, HTTPException, Path, Request
from pydantic import BaseModel, ValidationError

from dojo.chain.base import Chain
from dojo.config import Settings
from dojo.errors import ApiError
from dojo.miner.metrics import MinerMetrics, check_peer_version
from dojo.miner.store import TaskMap
from dojo.miner.worker_client import WorkerApiClient
from dojo.protocol import Empty, Feedback, Task
from dojo.transport.client import VERSION_HEADER
from dojo.transport.server import ValidatorGate

M = TypeVar("M", bound=BaseModel)


class KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds it (so a retried create can't race itself)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    def get(self, key: tuple[str, str]) -> asyncio.Lock:
        """The lock of ``key``, made on first use."""
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock


@dataclass
class Miner:
    """Everything the routes share, built once by ``create_app``."""

    settings: Settings
    hotkey: str
    chain: Chain
    gate: ValidatorGate
    store: TaskMap
    worker: WorkerApiClient
    metrics: MinerMetrics = field(default_factory=MinerMetrics)
    locks: KeyedLocks = field(default_factory=KeyedLocks)


def miner(request: Request) -> Miner:
    """The miner's parts (``app.state.miner``)."""
    return request.app.state.miner  # type: ignore[no-any-return]


MinerDep = Annotated[Miner, Depends(miner)]


async def validator(request: Request, m: MinerDep) -> str:
    """The calling validator's hotkey, once the gate has let it through; each refusal is counted by reason."""
    try:
        caller = await m.gate(request)
    except HTTPException as exc:
        m.metrics.rejected(exc.status_code, str(exc.detail))
        raise
    check_peer_version(m.metrics, request.headers.get(VERSION_HEADER), caller)
    return caller


Caller = Annotated[str, Depends(validator)]


def parse(raw: bytes, model: type[M]) -> M:
    """Parse a JSON body into ``model``; a 422 naming each bad field otherwise."""
    if model is Empty and not raw.strip():
        return model()
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
        raise ApiError(422, f"invalid {model.__name__}: " + "; ".join(parts)) from None


def body(model: type[M]) -> Callable[[Request, str], Awaitable[M]]:
    """A dependency: the signed body (verified by the gate first) parsed into ``model``."""

    async def parsed(request: Request, _caller: Caller) -> M:
        return parse(await request.body(), model)

    return parsed


def miner_task_id(task_id: Annotated[str, Path(description="The copy's id (``miner_task_id``)")]) -> str:
    """The path's ``{task_id}`` (the wire name of the ``miner_task_id``) in canonical form; a 422 when it is
    not a UUID."""
    try:
        return str(UUID(task_id))
    except ValueError:
        raise ApiError(422, f"task_id must be a UUID, got {task_id[:64]!r}") from None


NoBody = Annotated[Empty, Depends(body(Empty))]
TaskBody = Annotated[Task, Depends(body(Task))]
FeedbackBody = Annotated[Feedback, Depends(body(Feedback))]
MinerTaskId = Annotated[str, Depends(miner_task_id)]
