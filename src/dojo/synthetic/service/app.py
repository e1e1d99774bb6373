"""``dojo synthetic-api``: ``GET /api/v1/tasks/next`` pops a ready task (204 when none), plus health and metrics."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from dojo import __version__
from dojo.config import Settings
from dojo.errors import ApiError
from dojo.http_errors import DETAIL, install_error_handlers
from dojo.logs import log
from dojo.synthetic.generators import Generator, make_generator
from dojo.synthetic.service.buffer import TaskBuffer, make_buffer
from dojo.synthetic.service.filler import Filler, Metrics

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings, generator: Generator | None = None, buffer: TaskBuffer | None = None, backoff_s: float = 0.5
) -> FastAPI:
    """The service. ``generator`` and ``buffer`` default to what the settings ask for."""
    s = settings.synthetic
    gen = generator or make_generator(s)
    buf = buffer or make_buffer(settings.redis_url, s.redis_key)
    metrics = Metrics()
    filler = Filler(gen, buf, s.buffer_size, metrics, workers=s.fill_workers, backoff_s=backoff_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log(logger, "synthetic.started", generator=gen.name, buffer=buf.kind, target=s.buffer_size)
        filler.start()
        try:
            yield
        finally:
            await filler.stop()
            await buf.close()

    app = FastAPI(title="Dojo synthetic API", version=__version__, lifespan=lifespan)
    app.state.filler = filler
    install_error_handlers(app, DETAIL)
    app.state.generator = gen

    @app.get("/api/v1/tasks/next", responses={204: {"description": "no task ready yet; ask again shortly"}})
    async def next_task() -> Response:
        """Pop one ready task; 204 at once when the buffer is empty (never waits for generation)."""
        try:
            item = await buf.pop()
        except Exception as exc:  # noqa: BLE001 - a buffer outage is a clear 503, never a 500
            log(logger, "synthetic.buffer_unavailable", logging.WARNING, error=str(exc)[:200])
            raise ApiError(503, f"task buffer unavailable: {type(exc).__name__}") from exc
        filler.wake()
        if item is None:
            metrics.empty.inc()
            return Response(status_code=204)
        metrics.served.inc()
        return Response(content=item, media_type="application/json")

    @app.get("/health")
    async def health() -> JSONResponse:
        """Liveness plus what a person wants to know: generator, buffer fill, errors so far."""
        try:
            size: int | None = await buf.size()
        except Exception:  # noqa: BLE001 - reported as degraded, not as a crash
            size = None
        body = {
            "status": "ok" if size is not None else "degraded",
            "generator": gen.name,
            "buffer": buf.kind,
            "buffered": size,
            "target": s.buffer_size,
            "generator_errors": filler.errors,
            "last_error": filler.last_error,
            "version": __version__,
        }
        return JSONResponse(body, status_code=200 if size is not None else 503)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
