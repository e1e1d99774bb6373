"""The miner's FastAPI app (DESIGN §4): its parts, its lifespan, and the one mapping of errors to replies.

Every signed endpoint (:mod:`dojo.miner.routes`) sits behind ``ValidatorGate``: the signature is
checked over the raw body and the caller must be a validator by the metagraph before the
handler runs. Refusals leave as ``{"detail": …}`` (:data:`dojo.http_errors.DETAIL`), which
validators read; a failure of the worker API is a 502 (refused, bad reply) or 503 (unreachable).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dojo import __version__
from dojo.chain.base import Chain
from dojo.config import Settings
from dojo.errors import WorkerApiBadReply, WorkerApiError, WorkerApiRejected, WorkerApiUnavailable
from dojo.http_errors import DETAIL, install_error_handlers
from dojo.http_limits import BodyLimit
from dojo.logs import log
from dojo.miner import routes
from dojo.miner.deps import Miner
from dojo.miner.metrics import check_chain_version
from dojo.miner.store import TaskMap
from dojo.miner.worker_client import WorkerApiClient
from dojo.transport.server import ValidatorGate

if TYPE_CHECKING:
    from bittensor import Wallet

logger = logging.getLogger(__name__)

SMALL_BODY_BYTES = 64 * 1024  # heartbeat, results and feedback bodies are tiny
KEEP_LINKS = timedelta(days=7)  # a task's link is kept this long past its deadline (late collection, feedback)


def _operation(path: str) -> str:
    """The worker API operation behind a miner endpoint (a bounded label, not the raw path)."""
    if path.endswith("/results"):
        return "results"
    if path.endswith("/feedback"):
        return "feedback"
    if path == "/v1/tasks":
        return "create_task"
    return "health"


def _worker_failure(exc: WorkerApiError) -> tuple[int, str, str]:
    """Status, message and metric label of a worker API failure."""
    if isinstance(exc, WorkerApiRejected):
        return 502, f"the miner's worker API refused the request ({exc.status}): {exc.detail}", "rejected"
    if isinstance(exc, WorkerApiBadReply):
        return 502, f"the miner's worker API gave a bad reply: {exc}", "bad_reply"
    status = 503 if isinstance(exc, WorkerApiUnavailable) else 502
    return status, f"the miner's worker API is unavailable: {exc}", "unavailable"


async def _watch_versions(m: Miner, every_s: float) -> None:
    """Compare this miner's spec version with the chain's required one, once per epoch."""
    last: int | None = None
    while True:
        try:
            last = await check_chain_version(m.chain, m.metrics, last)
        except Exception as exc:  # noqa: BLE001 - a failed check is logged and tried again next epoch
            log(logger, "version.check_failed", logging.WARNING, error=f"{type(exc).__name__}: {exc}"[:300])
        await asyncio.sleep(every_s)


def create_app(settings: Settings, wallet: Wallet, chain: Chain, worker_client: WorkerApiClient) -> FastAPI:
    """The miner's FastAPI app; it closes ``worker_client`` when it stops."""
    hotkey = wallet.hotkey.ss58_address
    m = Miner(
        settings=settings,
        hotkey=hotkey,
        chain=chain,
        gate=ValidatorGate.from_settings(settings, hotkey, chain.metagraph),
        store=TaskMap(settings.home / "miner.db"),
        worker=worker_client,
    )
    version_every = max(settings.timings.epoch_blocks * settings.timings.block_time_s, 1.0)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pruned = await asyncio.to_thread(m.store.prune_sync, datetime.now(timezone.utc) - KEEP_LINKS)
        log(
            logger,
            "miner.started",
            hotkey=hotkey,
            netuid=chain.netuid,
            worker_api=worker_client.base_url,
            tasks_known=await asyncio.to_thread(m.store.count_sync),
            pruned=pruned,
        )
        watcher = asyncio.create_task(_watch_versions(m, version_every), name="miner-versions")
        try:
            yield
        finally:
            watcher.cancel()
            await worker_client.aclose()
            m.store.close()
            aclose = getattr(m.gate.nonce_store, "aclose", None)
            if aclose is not None:
                await aclose()
            log(logger, "miner.stopped", hotkey=hotkey)

    app = FastAPI(title="Dojo miner", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.miner = m
    app.state.metrics = m.metrics  # the metrics listener reads the registry here
    install_error_handlers(app, DETAIL)

    async def worker_api_failed(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, WorkerApiError)
        status, message, kind = _worker_failure(exc)
        m.metrics.worker_api_errors.labels(_operation(request.url.path), kind).inc()
        log(logger, "worker_api.failed", logging.WARNING, path=request.url.path, status=status, error=str(exc))
        return DETAIL(status, message, None)

    app.add_exception_handler(WorkerApiError, worker_api_failed)
    app.include_router(routes.health)
    app.include_router(routes.router)

    task_limit = settings.transport.max_body_bytes

    def limit_for(method: str, path: str) -> int:
        return task_limit if path == "/v1/tasks" else SMALL_BODY_BYTES

    app.add_middleware(BodyLimit, limit_for=limit_for)
    return app
