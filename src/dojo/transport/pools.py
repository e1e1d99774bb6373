"""Connection pooling for fan-outs to hundreds of miners.

httpcore's connection pool rescans every pooled connection on each request, once per request
and once more per idle connection (quadratic in the pool size), and polls each idle socket. With
one pool holding a keep-alive connection to each of 256 miners, that bookkeeping costs more than
the request itself. Miners have distinct addresses, so one small pool per origin keeps every
lookup constant-time while still reusing connections.
"""

from __future__ import annotations

import ssl
from collections import OrderedDict

import httpx

Origin = tuple[bytes, bytes, int | None]


class PerOriginTransport(httpx.AsyncBaseTransport):
    """An httpx transport keeping one small connection pool per (scheme, host, port).

    At most ``max_origins`` pools are kept; the least recently used one is closed beyond that
    (miners move, the pool set must not grow without bound).
    """

    #: Idle seconds before a pooled connection is dropped: well below the 5 s after which uvicorn (a
    #: miner's server) closes an idle keep-alive connection, so a request never goes out on one the
    #: miner is closing (it fails with a ReadError: a bench round at 256 miners lost 190 result reads
    #: to it). The margin covers a busy event loop that notices a reply late (its idle clock starts then).
    KEEPALIVE_EXPIRY_S = 3.0

    def __init__(
        self, connections_per_origin: int, keepalive_expiry: float = KEEPALIVE_EXPIRY_S, max_origins: int = 4096
    ) -> None:
        self._limits = httpx.Limits(
            max_connections=connections_per_origin,
            max_keepalive_connections=connections_per_origin,
            keepalive_expiry=keepalive_expiry,
        )
        self._max_origins = max_origins
        self._pools: OrderedDict[Origin, httpx.AsyncHTTPTransport] = OrderedDict()
        self._ssl: ssl.SSLContext | None = None  # built once, on first use

    def __len__(self) -> int:
        return len(self._pools)

    def _pool(self, url: httpx.URL) -> httpx.AsyncHTTPTransport:
        key: Origin = (url.raw_scheme, url.raw_host, url.port)
        pool = self._pools.get(key)
        if pool is not None:
            self._pools.move_to_end(key)
            return pool
        if self._ssl is None:
            # httpx builds (and loads CA certificates into) a fresh SSL context per transport
            # unless given one: ~20 ms each, so build it once and share it.
            self._ssl = httpx.create_ssl_context()
        pool = httpx.AsyncHTTPTransport(verify=self._ssl, limits=self._limits, trust_env=False)
        self._pools[key] = pool
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pool(request.url)
        while len(self._pools) > self._max_origins:
            _, oldest = self._pools.popitem(last=False)
            await oldest.aclose()
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            await pool.aclose()
