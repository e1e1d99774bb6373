"""Keep-alive HTTP/1.1 connections to miners: one ``aiohttp`` client session, lean enough for a fan-out.

A validator's round sends about a thousand signed requests of tens of kilobytes each, from one
event loop. Through httpx each cost about a millisecond of CPU, most of it in the layers around the
request (httpcore's pool bookkeeping, anyio's wrappers on every socket operation, h11's event
objects): the fan-out was bound by that CPU. aiohttp's client does the same work with far less
(a C parser, one protocol object per connection), so ``MinerConnections`` only configures it for
signed POSTs to miners and turns its failures into this module's few kinds.

Idle connections are kept per origin (scheme, host, port) and reused while not idle too long (see
``MinerConnections.KEEPALIVE_EXPIRY_S``); at most ``per_host`` connections to one origin are open
at once. Replies are bounded (aiohttp bounds each header line and the number of headers; the body
is counted here); a reply without a length is read until the server closes the connection. No
redirects are followed, no proxy is read from the environment, no cookie is kept and nothing is
decompressed: miners are reached directly, and nothing one miner sends reaches a request to another.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import aiohttp
import httpx
import yarl


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


class MinerConnections:
    """One aiohttp session (made on first use, in the running loop); ``post`` sends one request over it.

    ``opened`` counts the connections opened so far (the other requests reused a kept-alive one).
    """

    #: Idle seconds before a pooled connection is dropped: well below the 5 s after which uvicorn (a
    #: miner's server) closes an idle keep-alive connection, so a request never goes out on one the
    #: miner is closing (it fails, the connection lost before a reply: a bench round at 256 miners lost
    #: 190 result reads to it). The margin covers a busy event loop that notices a reply late.
    KEEPALIVE_EXPIRY_S = 3.0

    def __init__(self, per_host: int = 32, keepalive_expiry: float = KEEPALIVE_EXPIRY_S) -> None:
        if per_host < 1:
            raise ValueError(f"per_host must be at least 1, got {per_host}")
        self._per_host = per_host
        self._expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self.opened = 0  # connections opened so far (for tests and benches)

    def _open_session(self) -> aiohttp.ClientSession:
        async def count(_session: object, _ctx: SimpleNamespace, _params: object) -> None:
            self.opened += 1

        trace = aiohttp.TraceConfig()
        trace.on_connection_create_end.append(count)
        connector = aiohttp.TCPConnector(
            limit=0,  # the caller bounds concurrency (SignedClient's slots)
            limit_per_host=self._per_host,
            keepalive_timeout=self._expiry,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            auto_decompress=False,
            # Nothing is decompressed, so no encoding is offered; the caller's deadline bounds each call.
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent"),
            timeout=aiohttp.ClientTimeout(total=None),
            trace_configs=[trace],
        )

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
        if url.scheme not in ("http", "https"):
            raise ConnectFailed(f"unsupported scheme {url.scheme!r} (expected http or https)")
        if not all(value.isascii() for value in headers.values()):
            raise BadRequest("a header holds a character outside ASCII")
        path = target if target is not None else url.raw_path.decode("ascii")
        # Sent as given (already percent-encoded): the signed target is the one on the wire.
        where = yarl.URL(f"{url.scheme}://{url.netloc.decode('ascii')}{path}", encoded=True)
        if self._session is None:
            self._session = self._open_session()
        try:
            async with self._session.post(where, data=body, headers=headers, allow_redirects=False) as reply:
                declared = reply.content_length
                if declared is not None and declared > max_reply_bytes:
                    reply.close()  # the connection is dropped unless the reply was already received whole
                    raise ReplyTooLarge(f"reply of {declared} bytes exceeds the limit of {max_reply_bytes}")
                if declared is not None:
                    return reply.status, await reply.read()
                chunks, size = [], 0
                async for chunk in reply.content.iter_any():
                    size += len(chunk)
                    if size > max_reply_bytes:
                        reply.close()
                        raise ReplyTooLarge(f"reply exceeds the limit of {max_reply_bytes} bytes")
                    chunks.append(chunk)
                return reply.status, b"".join(chunks)
        except aiohttp.ClientConnectorError as exc:
            raise ConnectFailed(str(exc.os_error) or type(exc.os_error).__name__) from None
        except aiohttp.ServerDisconnectedError:
            raise ConnectionLost("the server closed the connection before replying") from None
        except aiohttp.ClientPayloadError as exc:
            raise InvalidReply(f"the connection closed in the middle of the reply ({exc})") from None
        except aiohttp.ClientResponseError as exc:  # not raised for a status: only for a reply that cannot be parsed
            raise InvalidReply(exc.message or "malformed reply") from None
        except aiohttp.InvalidURL as exc:
            raise BadRequest(f"invalid URL {exc}") from None
        except aiohttp.ClientConnectionError as exc:  # reset or broken pipe while sending, before any reply
            raise ConnectionLost(f"the connection was lost before a reply ({exc or type(exc).__name__})") from None
        except aiohttp.ClientError as exc:  # anything else the library refuses in a reply
            raise InvalidReply(str(exc) or type(exc).__name__) from None
        except ValueError as exc:  # aiohttp refuses a control character in a header (it could split the head)
            raise BadRequest(str(exc)) from None

    async def aclose(self) -> None:
        """Close every connection, idle or in use."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        await asyncio.sleep(0)  # let the transports run their close callbacks
