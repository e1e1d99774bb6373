"""The one way to run a Dojo HTTP service: build a uvicorn config, then serve it in one of three ways.

* :func:`run` — blocking, in the main thread (the ``dojo`` commands): SIGTERM/SIGINT finish the
  in-flight requests and return, so the process exits 0 rather than dying by the signal uvicorn
  re-raises (supervisors and the local network read that as a crash).
* :func:`start` — inside a running event loop (the miner, the validator's external-task API): the
  socket is bound first, so a taken port is a clear :class:`~dojo.errors.DojoError`, and the call
  returns once the server answers; :meth:`Running.stop` stops it gracefully.
* :func:`start_thread` — in a background thread on a free loopback port (tests, embedding).

:func:`serve_worker_processes` runs several worker-API processes on one port, and
:func:`serve_metrics` (re-exported) the separate Prometheus listener of the miner and validator.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dojo.errors import DojoError
from dojo.logs import log
from dojo.metrics_http import MetricsServer, serve_metrics

if TYPE_CHECKING:
    import uvicorn

__all__ = [
    "DEFAULTS",
    "MetricsServer",
    "Running",
    "ServerThread",
    "build_config",
    "check_worker_processes",
    "graceful_signals",
    "listen",
    "run",
    "serve_metrics",
    "serve_worker_processes",
    "start",
    "start_thread",
]

logger = logging.getLogger("dojo.serving")

# Every service's uvicorn options unless it says otherwise: our logging (one structured line per
# event, no access log), no Server header, the peer address as sent (a proxy must be configured, not
# trusted by default), lifespan events on, and ten seconds for in-flight requests on a stop.
DEFAULTS: dict[str, Any] = {
    "log_config": None,
    "log_level": "warning",
    "access_log": False,
    "server_header": False,
    "proxy_headers": False,
    "lifespan": "on",
    "timeout_graceful_shutdown": 10,
}


def build_config(app: Any, host: str, port: int, **options: Any) -> uvicorn.Config:
    """A uvicorn config for ``app`` on ``host:port``: :data:`DEFAULTS` updated with ``options``."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, **{**DEFAULTS, **options})


def listen(host: str, port: int, *, service: str = "", hint: str = "") -> socket.socket:
    """A listening TCP socket (port 0: a free one), or a ``DojoError`` saying why not (port in use, bad host)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        who = f"{service} " if service else ""
        tail = f" ({hint})" if hint else ""
        raise DojoError(f"{who}cannot listen on {host}:{port}: {exc.strerror or exc}{tail}") from None
    sock.set_inheritable(True)
    return sock


@contextmanager
def graceful_signals(service: str) -> Iterator[None]:
    """Python-level SIGTERM/SIGINT handlers, so the signal uvicorn re-raises after its graceful stop is harmless.

    Signals reach only the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def note(sig: int, _frame: Any) -> None:
        log(logger, f"{service}.signal", signal=signal.Signals(sig).name)

    for sig in previous:
        signal.signal(sig, note)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run(config: uvicorn.Config, *, service: str) -> None:
    """Serve ``config`` in this thread until SIGTERM/SIGINT; a taken port is a ``DojoError`` before anything runs."""
    import uvicorn

    sock = listen(config.host, config.port, service=service)
    try:
        with graceful_signals(service):
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


@dataclass
class Running:
    """A server started in this event loop by :func:`start`."""

    server: uvicorn.Server
    task: asyncio.Task[None]
    sock: socket.socket
    port: int = field(init=False)  # the port it listens on (the one the OS chose when asked for 0)
    url: str = field(init=False)  # its base URL

    def __post_init__(self) -> None:
        self.port = int(self.sock.getsockname()[1])
        self.url = _url(self.sock)

    async def wait(self) -> None:
        """Until the server stops (a signal, or :meth:`stop`); its error, if it failed."""
        try:
            await self.task
        finally:
            self.sock.close()

    async def stop(self) -> None:
        """Finish in-flight requests, stop, release the port."""
        self.server.should_exit = True
        try:
            await self.task
        finally:
            self.sock.close()


async def start(config: uvicorn.Config, *, service: str, sock: socket.socket | None = None) -> Running:
    """Start serving ``config`` in this event loop; return once it accepts connections.

    ``sock`` is a socket from :func:`listen` (else one is bound here). A server that stops while
    starting (its lifespan failed, say) raises its error, or a ``DojoError``.
    """
    import uvicorn

    sock = sock or listen(config.host, config.port, service=service)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name=f"{service}-http")
    while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn exposes only a flag
        await asyncio.sleep(0.02)
    if task.done():
        sock.close()
        await task
        raise DojoError(f"the {service} HTTP server stopped while starting on {config.host}:{config.port}")
    return Running(server=server, task=task, sock=sock)


class ServerThread:
    """A server running in a background thread: ``with start_thread(app) as server: server.url``."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket) -> None:
        import uvicorn

        self.server = uvicorn.Server(config)
        self.sock = sock
        self.port = int(sock.getsockname()[1])
        self.url = _url(sock)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def start(self, timeout: float = 30.0) -> ServerThread:
        """Start the thread; return once the server accepts connections."""
        self.thread.start()
        end = time.monotonic() + timeout
        while not self.server.started and self.thread.is_alive() and time.monotonic() < end:
            time.sleep(0.01)
        if not self.server.started:
            self.stop()
            raise DojoError(f"the server on {self.url} did not start within {timeout:g} s")
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Finish in-flight requests and stop; the thread is joined."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        with suppress(OSError):
            self.sock.close()
        if self.thread.is_alive():
            raise DojoError(f"the server on {self.url} did not stop within {timeout:g} s")

    def __enter__(self) -> ServerThread:
        return self if self.server.started else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_thread(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, sock: socket.socket | None = None, **options: Any
) -> ServerThread:
    """Serve ``app`` from a background thread (port 0: a free one); started when returned or entered.

    The caller holds the socket from the start, so no other process can take the port in between.
    ``sock`` is a socket from :func:`listen`, for an app that must know its port before it is built
    (a SIWE domain, say); ``host`` and ``port`` are then the socket's.
    """
    if sock is None:
        sock = listen(host, port)
    else:
        host = str(sock.getsockname()[0])
    return ServerThread(build_config(app, host, int(sock.getsockname()[1]), **options), sock).start()


def check_worker_processes(settings: Any, workers: int) -> None:
    """Refuse several worker-API processes where they would not share one truth.

    Shared by every process: tasks, results and the ``max_results`` rule, keys, partnerships,
    logged-out tokens (PostgreSQL; each process re-checks a token at most once a second) and the
    JWT secret (configured, or one file made once). Per process unless Redis is set: login nonces
    and rate-limit counters. SQLite's one writer at a time is enforced per process only.
    """
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
    here, once, before any worker starts. uvicorn's supervisor handles the signals of the parent.
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
        **DEFAULTS,
    )
