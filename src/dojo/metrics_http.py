"""A Prometheus ``/metrics`` listener for services whose main port is not the place for it.

The validator has no HTTP server of its own and the miner's port faces the internet, so each
serves its registry on a separate socket, bound to loopback unless the operator says otherwise.
The listener is a thread (``prometheus_client``'s WSGI server), so a scrape never waits on the
service's event loop and the loop never waits on a scrape.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from threading import Thread
from typing import TYPE_CHECKING

from prometheus_client import start_http_server

from dojo.logs import log

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from prometheus_client import CollectorRegistry

logger = logging.getLogger(__name__)


@dataclass
class MetricsServer:
    """A running listener; :meth:`close` stops it."""

    server: WSGIServer
    thread: Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        """Where Prometheus scrapes it."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_metrics(registry: CollectorRegistry, host: str, port: int, service: str) -> MetricsServer | None:
    """Serve ``registry`` at ``http://host:port/metrics``; None when ``port`` is 0 (off) or cannot be bound.

    A port that cannot be bound is logged as an error and the service runs on without metrics:
    losing a validator or a miner because its exporter port is taken would cost more than the
    missing scrape (which Prometheus reports as ``up == 0``).
    """
    if port == 0:
        log(logger, "metrics.off", service=service)
        return None
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        log(
            logger,
            "metrics.unavailable",
            level=logging.ERROR,
            service=service,
            host=host,
            port=port,
            error=exc.strerror or str(exc),
            hint=f"set DOJO_{service.upper()}_METRICS_PORT to a free port (0 turns metrics off)",
        )
        return None
    bound = int(server.server_address[1])
    running = MetricsServer(server=server, thread=thread, host=host, port=bound)
    log(logger, "metrics.serving", service=service, url=running.url)
    return running
