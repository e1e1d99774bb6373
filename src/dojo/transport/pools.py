"""Keep-alive HTTP/1.1 connections to miners, lean enough for a fan-out to hundreds of them.

A validator's round sends about a thousand signed requests of tens of kilobytes each, from one
event loop. Through httpx each cost about a millisecond of CPU, most of it not in the request
but in the layers around it (httpcore's pool bookkeeping, anyio's wrappers on every socket
operation, h11's event objects, two request/response models): the fan-out was bound by that CPU.
This module does only what a signed POST to a miner needs: one asyncio protocol per TCP (or TLS)
connection, the reply parsed by ``httptools`` (the C parser uvicorn uses), and idle connections
kept per origin (scheme, host, port) and reused, most recent first: a call to a miner goes over a
connection an earlier call opened whenever one is idle (and not idle too long, see
``MinerConnections.KEEPALIVE_EXPIRY_S``).

Replies are bounded (headers and body); a reply without a length is read until the server
closes the connection. No redirects are followed, no proxy or cookie is used: miners are reached
directly, and nothing one miner sends reaches a request to another.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections import OrderedDict

import httptools
import httpx

Origin = tuple[bytes, bytes, int | None]

#: Most bytes of reply headers accepted (status line and every header).
MAX_HEADER_BYTES = 64 * 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PoolError(Exception):
    """Base of the pool's failures; the client maps each to a typed ``TransportError``."""


class ConnectFailed(PoolError):
    """No connection could be opened (refused, unroutable, name not found, TLS handshake failed)."""


class ConnectionLost(PoolError):
    """The connection closed (or failed) before the first byte of a reply."""


class InvalidReply(PoolError):
    """The bytes received are not a valid HTTP/1.1 reply, or the connection closed in the middle of one."""


class ReplyTooLarge(PoolError):
    """The reply (its declared length, or the bytes received) exceeds the caller's limit."""


class BadRequest(PoolError):
    """The request cannot be sent as given: its target or a header holds a character HTTP does not allow."""


def _request(url: httpx.URL, target: str, headers: dict[str, str], body: bytes) -> bytes:
    """The request's bytes: its head (one ASCII encoding of the whole) and ``body``."""
    # A control character in a value (a hotkey read from the chain, say) could split or end the head.
    if _CONTROL.search("".join((target, *headers, *headers.values()))) or " " in target:
        raise BadRequest("a header or the request target holds a control character or a space")
    fields = "".join([f"\r\n{name}: {value}" for name, value in headers.items()])
    head = (
        f"POST {target} HTTP/1.1\r\nhost: {url.netloc.decode('ascii')}\r\ncontent-length: {len(body)}{fields}\r\n\r\n"
    )
    try:
        return head.encode("ascii") + body
    except UnicodeEncodeError:
        raise BadRequest("a header or the request target holds a character outside ASCII") from None


class _Connection(asyncio.Protocol):
    """One keep-alive connection: at most one request in flight; the reply parsed as it arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._limit = 0
        self._reset()

    def _reset(self) -> None:
        self._received = False  # any byte of the current reply
        self._chunks: list[bytes] = []
        self._size = 0
        self._header_bytes = 0
        self._headers_done = False
        self._framed = False  # Content-Length or chunked: the reply's end is known without closing

    # ---- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: the connection is out of step, do not reuse it
            return
        self._received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(InvalidReply("the server switched protocols"))
        except httptools.HttpParserError as exc:
            # A callback's own exception (a limit) reaches here wrapped as a parser error.
            cause = exc.__cause__ or exc.__context__
            self._fail(cause if isinstance(cause, PoolError) else InvalidReply(str(exc) or "malformed reply"))

    def eof_received(self) -> bool:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if self._headers_done and not self._framed:  # a reply without a length ends when the server closes
                self._finish(self._parser.get_status_code(), keep=False)
            elif self._received:
                self._fail(InvalidReply("the server closed the connection in the middle of its reply"))
            else:
                self._fail(ConnectionLost("the server closed the connection before replying"))
        self.closed = True
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.transport = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if exc is None and self._headers_done and not self._framed:
                self._finish(self._parser.get_status_code(), keep=False)
            elif self._received:
                self._fail(InvalidReply(f"the connection was lost in the middle of the reply ({exc or 'closed'})"))
            else:
                self._fail(ConnectionLost(f"the connection was lost before a reply ({exc or 'closed'})"))

    # ---- httptools callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._waiter is None or self._waiter.done():
            raise InvalidReply("bytes after the reply")  # a second reply to one request: drop the connection

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > MAX_HEADER_BYTES:
            raise InvalidReply(f"reply headers exceed {MAX_HEADER_BYTES} bytes")
        lname = name.lower()
        if lname == b"content-length":
            self._framed = True
            if value.strip().isdigit() and int(value) > self._limit:
                raise ReplyTooLarge(f"reply of {int(value)} bytes exceeds the limit of {self._limit}")
        elif lname == b"transfer-encoding":
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._limit:
            raise ReplyTooLarge(f"reply exceeds the limit of {self._limit} bytes")
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200:  # an interim reply (e.g. 100 Continue): the real one follows
            self._reset()
            self._received = True
            return
        self._finish(status, keep=self._parser.should_keep_alive())

    # ---- the exchange -------------------------------------------------------------------------

    def _finish(self, status: int, keep: bool) -> None:
        waiter = self._waiter
        body = b"".join(self._chunks)
        self._reset()
        if not keep:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result((status, body))

    def _fail(self, exc: PoolError) -> None:
        self.close()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    async def exchange(self, request: bytes, limit: int) -> tuple[int, bytes]:
        """Send ``request`` (head and body) and wait for the reply: ``(status, body)``."""
        if self.transport is None or self.closed:
            raise ConnectionLost("the connection is closed")
        self._limit = limit
        self._reset()
        waiter = self._waiter = self._loop.create_future()
        self.transport.write(request)
        try:
            return await waiter
        finally:
            self._waiter = None
            if not waiter.done() or waiter.cancelled():
                self.close()  # cancelled (a timeout): the reply may still come; never reuse this connection


class MinerConnections:
    """Idle keep-alive connections per origin; ``post`` sends one request over one of them (or a new one).

    A request takes the most recently used idle connection to its origin, or opens one; a
    connection goes back to the idle set once its reply is read, unless the server closes it. At
    most ``idle_per_origin`` idle connections are kept per origin and ``max_origins`` origins
    (least recently used dropped first): miners move, the set must not grow without bound.
    """

    #: Idle seconds before a pooled connection is dropped: well below the 5 s after which uvicorn (a
    #: miner's server) closes an idle keep-alive connection, so a request never goes out on one the
    #: miner is closing (it fails, the connection lost before a reply: a bench round at 256 miners lost
    #: 190 result reads to it). The margin covers a busy event loop that notices a reply late (its idle
    #: clock starts then).
    KEEPALIVE_EXPIRY_S = 3.0

    def __init__(
        self, idle_per_origin: int = 8, keepalive_expiry: float = KEEPALIVE_EXPIRY_S, max_origins: int = 4096
    ) -> None:
        if idle_per_origin < 1:
            raise ValueError(f"idle_per_origin must be at least 1, got {idle_per_origin}")
        self._idle_per_origin = idle_per_origin
        self._expiry = keepalive_expiry
        self._max_origins = max_origins
        self._idle: OrderedDict[Origin, list[_Connection]] = OrderedDict()
        self._busy: set[_Connection] = set()
        self._ssl: ssl.SSLContext | None = None  # built once, on first use
        self.opened = 0  # connections opened so far (for tests and benches)

    def __len__(self) -> int:
        """Origins with a slot in the pool."""
        return len(self._idle)

    def idle(self) -> int:
        """Idle connections kept, over every origin."""
        return sum(len(v) for v in self._idle.values())

    def _take(self, key: Origin, now: float) -> _Connection | None:
        conns = self._idle.get(key)
        if conns is None:
            self._idle[key] = []
            while len(self._idle) > self._max_origins:
                _, dropped = self._idle.popitem(last=False)
                for c in dropped:
                    c.close()
            return None
        self._idle.move_to_end(key)
        while conns:
            conn = conns.pop()
            if not conn.closed and now - conn.idle_since < self._expiry:
                return conn
            conn.close()
        return None

    async def _open(self, url: httpx.URL) -> _Connection:
        loop = asyncio.get_running_loop()
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise ConnectFailed(f"unsupported scheme {scheme!r} (expected http or https)")
        host = url.host
        port = url.port or (443 if scheme == "https" else 80)
        tls: ssl.SSLContext | None = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()  # ~20 ms to load the CA certificates: once
            tls = self._ssl
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(loop), host, port, ssl=tls, server_hostname=host if tls else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConnectFailed(str(exc) or type(exc).__name__) from None
        self.opened += 1
        return conn

    async def post(
        self,
        url: httpx.URL,
        headers: dict[str, str],
        body: bytes,
        max_reply_bytes: int,
        target: str | None = None,
    ) -> tuple[int, bytes]:
        """POST ``body`` to ``url`` with ``headers`` (Host and Content-Length are added); ``(status, body)``.

        ``target`` is the request target sent (default: ``url``'s path and query, percent-encoded).
        Raises ``BadRequest``, ``ConnectFailed``, ``ConnectionLost``, ``InvalidReply`` or ``ReplyTooLarge``.
        """
        request = _request(url, target if target is not None else url.raw_path.decode("ascii"), headers, body)
        loop = asyncio.get_running_loop()
        key: Origin = (url.raw_scheme, url.raw_host, url.port)
        conn = self._take(key, loop.time())
        if conn is None:
            conn = await self._open(url)
        self._busy.add(conn)
        try:
            reply = await conn.exchange(request, max_reply_bytes)
        except BaseException:
            conn.close()
            raise
        finally:
            self._busy.discard(conn)
        if not conn.closed:
            self._release(key, conn, loop.time())
        return reply

    def _release(self, key: Origin, conn: _Connection, now: float) -> None:
        conns = self._idle.get(key)
        if conns is None or len(conns) >= self._idle_per_origin:
            conn.close()
            return
        conn.idle_since = now
        conns.append(conn)

    async def aclose(self) -> None:
        """Close every connection, idle or in use."""
        pools, self._idle = list(self._idle.values()), OrderedDict()
        for conns in pools:
            for c in conns:
                c.close()
        for c in list(self._busy):
            c.close()
        self._busy.clear()
        await asyncio.sleep(0)  # let the transports run their close callbacks
