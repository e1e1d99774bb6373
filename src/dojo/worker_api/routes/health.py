"""Liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from dojo.http_errors import ok
from dojo.worker_api.contexts.expiry import counts
from dojo.worker_api.deps import services
from dojo.worker_api.schemas import HealthBody, Reply

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=Reply[HealthBody],
    responses={503: {"model": Reply[HealthBody], "description": "The database does not answer"}},
)
async def health(request: Request) -> object:
    """``ok`` when the database answers."""
    svc = services(request)
    try:
        async with svc.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - report, don't crash
        return JSONResponse(
            {
                "success": False,
                "body": {"status": "degraded", "database": "down"},
                "error": f"database unreachable: {exc}",
            },
            status_code=503,
        )
    return ok({"status": "ok", "database": "ok"})


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, latencies, tasks by state, results."""
    svc = services(request)
    async with svc.sessions() as s:
        by_status, n_results = await counts(s)
    for state, n in by_status.items():
        svc.metrics.tasks.labels(state).set(n)
    svc.metrics.results.set(n_results)
    return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4")
