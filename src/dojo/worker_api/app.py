"""The worker API application: ``create_app(settings)`` and the ``dojo worker-api`` server.

Startup applies the Alembic migrations, then a background job moves overdue tasks to
``expired`` every ``timings.expiry_sweep_s``. The web UI (``ui/``), when present, is served at ``/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dojo import __version__
from dojo.config import Settings, load_settings
from dojo.http_errors import install_error_handlers
from dojo.logs import log
from dojo.redis_pools import async_pool
from dojo.worker_api.auth.miner_login import MinerLogin, Registered
from dojo.worker_api.auth.nonces import make_one_time_store
from dojo.worker_api.auth.registration import MetagraphSource, Registry, chain_metagraph
from dojo.worker_api.auth.siwe_login import SiweLogin
from dojo.worker_api.auth.tokens import TokenService, load_or_create_secret
from dojo.worker_api.client_ip import ClientAddress
from dojo.worker_api.contexts.expiry import expire_overdue
from dojo.worker_api.deps import Services, limit_ip
from dojo.worker_api.metrics import Metrics, MetricsMiddleware
from dojo.worker_api.openapi import document_replies
from dojo.worker_api.ratelimit import RateLimits
from dojo.worker_api.routes import ERRORS, auth, fallback, health, keys, partners, tasks, work
from dojo.worker_api.store.db import instance_id, make_engine, make_sessionmaker, migrate, migrate_sync, optimize
from dojo.worker_api.store.runner import Runner

logger = logging.getLogger("dojo.worker_api")
UI_DIR = Path(__file__).with_name("ui")


OPTIMIZE_EVERY_S = 600.0


async def _expiry_loop(svc: Services, interval_s: float) -> None:
    """Expire overdue tasks every ``interval_s``; refresh the planner's statistics now and then."""
    last_optimize = time.monotonic()
    while True:
        try:
            async with svc.sessions() as s:
                n = await expire_overdue(s)
            if n:
                log(logger, "tasks.expired", count=n)
            if time.monotonic() - last_optimize > OPTIMIZE_EVERY_S:
                last_optimize = time.monotonic()
                await optimize(svc.engine)
        except Exception as exc:  # noqa: BLE001 - keep sweeping; the next round may succeed
            log(logger, "tasks.expiry_failed", level=logging.WARNING, error=repr(exc))
        await asyncio.sleep(interval_s)


def _read_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for GET requests. PostgreSQL: autocommit (no BEGIN/ROLLBACK round trips). SQLite: plain
    sessions, since a read opens no transaction there and switching aiosqlite's isolation level costs two
    thread hops per request."""
    if engine.dialect.name == "sqlite":
        return make_sessionmaker(engine)
    return make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


def build_services(
    settings: Settings, *, metagraph: MetagraphSource | None = None, registered: Registered | None = None
) -> Services:
    """The shared services of one app. ``metagraph``/``registered`` replace the chain check (tests)."""
    w = settings.worker
    pool = async_pool(settings.redis_url) if settings.redis_url else None  # shared by nonces and rate limits
    once = make_one_time_store(pool, w.redis_prefix + "once:")
    engine = make_engine(settings.worker_db_url())
    check = registered or Registry(metagraph or chain_metagraph(settings))
    return Services(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        read_sessions=_read_sessions(engine),
        tokens=TokenService(load_or_create_secret(w.jwt_secret, settings.home), w.jwt_ttl_s),
        siwe=SiweLogin(once, w.siwe_domain, w.siwe_chain_id, w.nonce_ttl_s),
        miner_login=MinerLogin(once, w.nonce_ttl_s, check, settings.chain.netuid),
        limits=RateLimits(w.rate_limit_ip, w.rate_limit_labeller, settings.redis_url, w.redis_prefix + "limits", pool),
        metrics=Metrics(),
        once=once,
        writer=asyncio.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext(),
        runner=Runner(settings.worker_db_url(), engine),
        client_address=ClientAddress(w.trusted_proxies),
        redis_pool=pool,
    )


def create_app(
    settings: Settings | None = None, *, metagraph: MetagraphSource | None = None, registered: Registered | None = None
) -> FastAPI:
    """The worker API. ``metagraph`` (a fixed Metagraph reader) or ``registered`` override the chain."""
    settings = settings or load_settings()
    svc = build_services(settings, metagraph=metagraph, registered=registered)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await migrate(settings.worker_db_url())
        svc.tokens.bind(await instance_id(svc.engine))  # tokens name this database's instance as their issuer
        await optimize(svc.engine)
        job = asyncio.create_task(_expiry_loop(svc, settings.timings.expiry_sweep_s))
        log(logger, "worker_api.started", db=settings.worker_db_url().split("@")[-1])
        try:
            yield
        finally:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job
            await svc.once.close()
            if svc.redis_pool is not None:
                await svc.redis_pool.disconnect()
            await svc.runner.close()
            await svc.engine.dispose()
            log(logger, "worker_api.stopped")

    app = FastAPI(
        title="Dojo worker API",
        version=__version__,
        lifespan=lifespan,
        description="The labelling backend: wallet logins, keys, tasks and results. "
        "Every reply is {success, body, error}.",
    )
    app.state.services = svc
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=svc.metrics)

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(limit_ip)], responses=ERRORS)
    for module in (tasks, auth, keys, partners, work):  # the labeller's hot paths first: routes match in order
        api.include_router(module.router)
    app.include_router(api)
    app.include_router(health.router)
    app.include_router(fallback.router)  # after every endpoint, before the web UI's files
    document_replies(app)
    if UI_DIR.is_dir():
        app.mount("/", StaticFiles(directory=UI_DIR, html=True), name="ui")
    return app


def serve(settings: Settings) -> None:
    """Run the worker API with uvicorn until interrupted."""
    from dojo import serving

    migrate_sync(settings.worker_db_url())  # fail here with a clear message rather than inside uvicorn
    app = create_app(settings)
    serving.run(serving.build_config(app, settings.worker.host, settings.worker.port), service="worker-api")
