"""Run an ASGI app with uvicorn so that SIGTERM means a graceful stop and exit code 0.

uvicorn finishes in-flight requests on SIGTERM, then re-raises the signal so the process dies
by it (exit -15). Supervisors and the local network read that as a crash; we install a handler
first so that the re-raised signal ends the process with a plain, successful exit instead.
"""

from __future__ import annotations

import signal
import sys
from typing import Any


def _exit_cleanly(_signum: int, _frame: object) -> None:
    sys.exit(0)


def run_uvicorn(app: Any, host: str, port: int, **kwargs: Any) -> None:
    """``uvicorn.run`` with a graceful, exit-0 SIGTERM."""
    import uvicorn

    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(app, host=host, port=port, **kwargs)


def check_worker_processes(settings: Any, workers: int) -> None:
    """Refuse several worker-API processes where they would not share one truth.

    Shared by every process: tasks, results and the ``max_results`` rule, keys, partnerships,
    logged-out tokens (PostgreSQL; each process re-checks a token at most once a second) and the
    JWT secret (configured, or one file made once). Per process unless Redis is set: login nonces
    and rate-limit counters. SQLite's one writer at a time is enforced per process only.
    """
    from dojo.errors import DojoError
    from dojo.worker_api.store.db import is_sqlite

    if workers <= 1:
        return
    if is_sqlite(settings.worker_db_url()):
        raise DojoError(
            f"--workers {workers} needs PostgreSQL: several processes cannot share a SQLite worker database "
            "(set --db-url postgresql+psycopg://… or DOJO_WORKER_DB_URL, or run --workers 1)"
        )
    if not settings.redis_url:
        raise DojoError(
            f"--workers {workers} needs Redis: login nonces and rate limits must be shared by every process "
            "(set --redis-url redis://… or DOJO_REDIS_URL, or run --workers 1)"
        )


def serve_worker_processes(settings: Any, workers: int, factory: str) -> None:
    """Serve the worker API from ``workers`` uvicorn processes on one port; ``factory`` builds each one's app.

    Checked first (:func:`check_worker_processes`); the database is migrated and the JWT secret made
    here, once, before any worker starts.
    """
    import uvicorn

    from dojo.worker_api.auth.tokens import load_or_create_secret
    from dojo.worker_api.store.db import migrate_sync

    check_worker_processes(settings, workers)
    migrate_sync(settings.worker_db_url())
    load_or_create_secret(settings.worker.jwt_secret, settings.home)
    uvicorn.run(
        factory,
        factory=True,
        workers=workers,
        host=settings.worker.host,
        port=settings.worker.port,
        log_level="warning",
        proxy_headers=False,
        access_log=False,
    )
