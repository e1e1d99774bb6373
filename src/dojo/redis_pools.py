"""Redis connection pools that wait for a free connection instead of failing under a burst.

redis-py's default pool refuses the 101st concurrent command with ``MaxConnectionsError``; a burst of
logins or signed requests would turn into server errors. These pools hand out at most
``MAX_CONNECTIONS`` connections per process and make further commands wait up to ``WAIT_S`` for
one. Callers turn what still fails (Redis down, or saturated past the wait) into a 503 with
``Retry-After`` — never a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis
    import redis.asyncio

MAX_CONNECTIONS = 128  # per process (Redis accepts 10,000 clients by default)
WAIT_S = 30.0  # how long a command may wait for a free connection
# Per command, wall clock: generous, because a busy event loop reads replies late (a burst of
# hundreds of requests on a loaded machine); a dead Redis still fails at once (refused connection).
SOCKET_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5.0


def async_pool(
    url: str, max_connections: int = MAX_CONNECTIONS, wait_s: float = WAIT_S
) -> redis.asyncio.BlockingConnectionPool:
    """A bounded, waiting pool for ``redis.asyncio.Redis(connection_pool=…)``."""
    import redis.asyncio

    return redis.asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=wait_s,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
    )


def sync_pool(url: str, max_connections: int = MAX_CONNECTIONS, wait_s: float = WAIT_S) -> redis.BlockingConnectionPool:
    """The same for the synchronous client."""
    import redis

    return redis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=wait_s,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
    )
