"""The miner's signed HTTP endpoints (DESIGN §4): heartbeat, tasks, results, feedback.

Every endpoint sits behind ``ValidatorGate``: the signature is checked over the raw body and
the caller must be a validator by the metagraph before the handler runs. Handlers are thin:
parse the body, look up or record the task link, call the worker API.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from dojo import __version__
from dojo.chain.base import Chain
from dojo.config import Settings
from dojo.logs import log
from dojo.miner.body_limit import BodyLimit
from dojo.miner.metrics import MinerMetrics, check_chain_version, check_peer_version
from dojo.miner.store import TaskMap
from dojo.miner.worker_client import (
    WorkerApiBadReply,
    WorkerApiClient,
    WorkerApiError,
    WorkerApiRejected,
    WorkerApiUnavailable,
)
from dojo.protocol import MAX_LABELLERS_PER_TASK, Empty, Feedback, HeartbeatReply, ResultsReply, Task, TaskAccepted
from dojo.transport.client import VERSION_HEADER
from dojo.transport.server import ValidatorGate

if TYPE_CHECKING:
    from bittensor import Wallet

logger = logging.getLogger(__name__)

SMALL_BODY_BYTES = 64 * 1024  # heartbeat, results and feedback bodies are tiny
KEEP_LINKS = timedelta(days=7)  # a task's link is kept this long past its deadline (late collection, feedback)
M = TypeVar("M", bound=BaseModel)


def _parse(raw: bytes, model: type[M]) -> M:
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
        raise HTTPException(422, detail=f"invalid {model.__name__}: " + "; ".join(parts)) from None


def _task_id(raw: str) -> str:
    try:
        return str(UUID(raw))
    except ValueError:
        raise HTTPException(422, detail=f"task_id must be a UUID, got {raw[:64]!r}") from None


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


class _KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds it (so a retried create can't race itself)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = weakref.WeakValueDictionary()

    def get(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock


def _operation(path: str) -> str:
    """The worker API operation behind a miner endpoint (a bounded label, not the raw path)."""
    if path.endswith("/results"):
        return "results"
    if path.endswith("/feedback"):
        return "feedback"
    if path == "/v1/tasks":
        return "create_task"
    return "health"


def create_app(settings: Settings, wallet: Wallet, chain: Chain, worker_client: WorkerApiClient) -> FastAPI:
    """The miner's FastAPI app; it closes ``worker_client`` when it stops."""
    hotkey = wallet.hotkey.ss58_address
    gate = ValidatorGate.from_settings(settings, hotkey, chain.metagraph)
    store = TaskMap(settings.home / "miner.db")
    locks = _KeyedLocks()
    metrics = MinerMetrics()
    version_every = max(settings.timings.epoch_blocks * settings.timings.block_time_s, 1.0)

    async def gated(request: Request) -> str:
        """The gate, counting each refusal by reason."""
        try:
            caller = await gate(request)
        except HTTPException as exc:
            metrics.rejected(exc.status_code, str(exc.detail))
            raise
        check_peer_version(metrics, request.headers.get(VERSION_HEADER), caller)
        return caller

    async def watch_versions() -> None:
        """Compare this miner's spec version with the chain's required one, once per epoch."""
        last: int | None = None
        while True:
            try:
                last = await check_chain_version(chain, metrics, last)
            except Exception as exc:  # noqa: BLE001 - a failed check is logged and tried again next epoch
                log(logger, "version.check_failed", logging.WARNING, error=f"{type(exc).__name__}: {exc}"[:300])
            await asyncio.sleep(version_every)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pruned = await asyncio.to_thread(store.prune_sync, datetime.now(timezone.utc) - KEEP_LINKS)
        log(
            logger,
            "miner.started",
            hotkey=hotkey,
            netuid=chain.netuid,
            worker_api=worker_client.base_url,
            tasks_known=await asyncio.to_thread(store.count_sync),
            pruned=pruned,
        )
        watcher = asyncio.create_task(watch_versions(), name="miner-versions")
        try:
            yield
        finally:
            watcher.cancel()
            await worker_client.aclose()
            store.close()
            aclose = getattr(gate.nonce_store, "aclose", None)
            if aclose is not None:
                await aclose()
            log(logger, "miner.stopped", hotkey=hotkey)

    app = FastAPI(title="Dojo miner", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.store = store
    app.state.gate = gate
    app.state.hotkey = hotkey
    app.state.metrics = metrics

    @app.exception_handler(WorkerApiError)
    async def _worker_error(request: Request, exc: WorkerApiError) -> JSONResponse:
        status = 503 if isinstance(exc, WorkerApiUnavailable) else 502
        if isinstance(exc, WorkerApiRejected):
            detail = f"the miner's worker API refused the request ({exc.status}): {exc.detail}"
        elif isinstance(exc, WorkerApiBadReply):
            detail = f"the miner's worker API gave a bad reply: {exc}"
        else:
            detail = f"the miner's worker API is unavailable: {exc}"
        kind = (
            "rejected"
            if isinstance(exc, WorkerApiRejected)
            else "bad_reply"
            if isinstance(exc, WorkerApiBadReply)
            else "unavailable"
        )
        metrics.worker_api_errors.labels(_operation(request.url.path), kind).inc()
        log(logger, "worker_api.failed", logging.WARNING, path=request.url.path, status=status, error=str(exc))
        return JSONResponse({"detail": detail}, status_code=status)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness for operators (unsigned; reveals nothing but the hotkey)."""
        return {"status": "ok", "hotkey": hotkey, "version": __version__}

    @app.post("/v1/heartbeat", response_model=HeartbeatReply)
    async def heartbeat(request: Request, caller: str = Depends(gated)) -> HeartbeatReply:
        """Tell a validator this miner is up and whether its worker API answers."""
        _parse(await request.body(), Empty)
        ok = await worker_client.health()
        metrics.heartbeats.inc()
        if not ok:
            metrics.worker_api_errors.labels("health", "unhealthy").inc()
        return HeartbeatReply(hotkey=hotkey, version=__version__, worker_api_ok=ok)

    @app.post("/v1/tasks", response_model=TaskAccepted)
    async def create_task(request: Request, caller: str = Depends(gated)) -> TaskAccepted:
        """Create the task in the worker API at once; a repeated task_id returns the first worker task."""
        task = _parse(await request.body(), Task)
        task_id = str(task.task_id)
        if _aware(task.expire_at) <= datetime.now(timezone.utc):
            raise HTTPException(422, detail=f"task {task_id} has already expired (expire_at={task.expire_at})")
        async with locks.get((caller, task_id)):
            link = await store.get(caller, task_id)
            if link is None:
                worker_task_id = await worker_client.create_task(task)
                expire_at = _aware(task.expire_at).astimezone(timezone.utc).isoformat()
                link = await store.put(caller, task_id, worker_task_id, expire_at)
                metrics.tasks_received.labels("new").inc()
                log(
                    logger,
                    "task.accepted",
                    task_id=task_id,
                    validator=caller,
                    worker_task_id=worker_task_id,
                    responses=len(task.responses),
                )
            else:
                metrics.tasks_received.labels("repeated").inc()
                log(logger, "task.repeated", task_id=task_id, validator=caller, worker_task_id=link.worker_task_id)
        return TaskAccepted(worker_task_id=link.worker_task_id)

    async def _link(caller: str, raw_task_id: str) -> str:
        task_id = _task_id(raw_task_id)
        link = await store.get(caller, task_id)
        if link is None:
            raise HTTPException(404, detail=f"unknown task_id {task_id}: this validator sent no such task")
        return link.worker_task_id

    @app.post("/v1/tasks/{task_id}/results", response_model=ResultsReply)
    async def results(task_id: str, request: Request, caller: str = Depends(gated)) -> ResultsReply:
        """The labellers' results for one of the caller's tasks, read from the worker API."""
        _parse(await request.body(), Empty)
        worker_task_id = await _link(caller, task_id)
        found = await worker_client.results(worker_task_id)
        await store.mark_results(caller, _task_id(task_id), len(found))
        metrics.results_served.inc()
        metrics.labels_served.inc(min(len(found), MAX_LABELLERS_PER_TASK))
        log(logger, "task.results", task_id=task_id, validator=caller, results=len(found))
        return ResultsReply(results=found[:MAX_LABELLERS_PER_TASK])

    @app.post("/v1/tasks/{task_id}/feedback", response_model=Empty)
    async def feedback(task_id: str, request: Request, caller: str = Depends(gated)) -> Empty:
        """Forward the validator's score, ground truth and grades so the worker API grades the labellers."""
        body = _parse(await request.body(), Feedback)
        worker_task_id = await _link(caller, task_id)
        await worker_client.send_feedback(worker_task_id, body)
        await store.mark_feedback(caller, _task_id(task_id), body.score)
        metrics.feedback.inc()
        metrics.last_score.set(body.score)
        log(logger, "task.feedback", task_id=task_id, validator=caller, score=body.score)
        return Empty()

    task_limit = settings.transport.max_body_bytes

    def limit_for(method: str, path: str) -> int:
        return task_limit if path == "/v1/tasks" else SMALL_BODY_BYTES

    app.add_middleware(BodyLimit, limit_for=limit_for)
    return app
