"""The client's HTTP/1.1 connections (aiohttp, as ``MinerConnections`` configures it) against scripted
loopback servers: every way a reply can be framed, bounded or cut short, when a connection may be used
again, and requests that must not be sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from transport_servers import EchoOut, new_keypair

from dojo.transport import BadReply, SignedClient, Unreachable
from dojo.transport.pools import BadRequest, ConnectionLost, InvalidReply, MinerConnections, ReplyTooLarge

OK = b'{"caller":"v","uid":1,"text":"hi","size":2}'


class Scripted:
    """A TCP server answering the n-th request on any connection with ``replies[n]`` (the last one repeats).

    A reply of None closes the connection without answering. Each request is read whole (its
    head, then Content-Length bytes) and kept in ``requests``.
    """

    def __init__(self, replies: list[bytes | None], close_after: bool = False) -> None:
        self.replies = replies
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0
        self._handlers: set[asyncio.Task[None]] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.requests.append(head + await reader.readexactly(length))
                reply = self.replies[min(len(self.requests) - 1, len(self.replies) - 1)]
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def __aenter__(self) -> Scripted:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    @property
    def url(self) -> httpx.URL:
        return httpx.URL(f"http://127.0.0.1:{self.port}/v1/x?a=1")


def reply(body: bytes, *headers: bytes, status: bytes = b"200 OK") -> bytes:
    return b"HTTP/1.1 " + status + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def sized(body: bytes, status: bytes = b"200 OK") -> bytes:
    return reply(body, b"content-type: application/json", b"content-length: %d" % len(body), status=status)


@pytest.fixture
async def pool() -> AsyncIterator[MinerConnections]:
    p = MinerConnections()
    yield p
    await p.aclose()


async def test_the_request_is_the_signed_bytes_with_host_and_length(pool: MinerConnections) -> None:
    async with Scripted([sized(OK)]) as srv:
        status, body = await pool.post(srv.url, {"x-a": "1", "content-type": "application/json"}, b'{"k":1}', 1024)
    assert (status, body) == (200, OK)
    (request,) = srv.requests
    head, sent = request.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /v1/x?a=1 HTTP/1.1"
    fields = {name.lower() + b":" + value for name, value in (line.split(b":", 1) for line in lines[1:])}
    assert fields == {  # nothing else: no user agent, accepted encoding or cookie of the library's own
        b"host: " + srv.url.netloc,
        b"content-length: 7",
        b"x-a: 1",
        b"content-type: application/json",
    }
    assert sent == b'{"k":1}'


async def test_the_target_goes_out_as_given(pool: MinerConnections) -> None:
    """The signed request target is the one on the wire: not re-encoded, dot segments not resolved."""
    async with Scripted([sized(OK)]) as srv:
        for target in ["/a%20b/../c?x=%C3%A9&y=a%2Fb", "//z", "/m/0/v1/tasks"]:
            assert await pool.post(srv.url, {}, b"", 1024, target) == (200, OK)
    assert [r.split(b" ")[1] for r in srv.requests] == [b"/a%20b/../c?x=%C3%A9&y=a%2Fb", b"//z", b"/m/0/v1/tasks"]


async def test_header_injection_is_refused_before_anything_is_sent(pool: MinerConnections) -> None:
    async with Scripted([sized(OK)]) as srv:
        for bad in ["1\r\nx-injected: 1", "1\nx-injected: 1", "1\rx-injected: 1", "1\x00", "1\x7f"]:
            with pytest.raises(BadRequest):  # aiohttp refuses a line break in a header
                await pool.post(srv.url, {"x-hotkey": bad}, b"", 1024)
        with pytest.raises(BadRequest, match="outside ASCII"):
            await pool.post(srv.url, {"x-hotkey": "é"}, b"", 1024)
        assert srv.requests == []  # not one byte of a request reached the server
        assert await pool.post(srv.url, {"x-hotkey": "ok"}, b"", 1024) == (200, OK)
    assert len(srv.requests) == 1 and b"x-injected" not in srv.requests[0]


async def test_chunked_and_unsized_replies_are_read_whole(pool: MinerConnections) -> None:
    chunked = reply(
        b"5\r\n" + OK[:5] + b"\r\n" + b"%x\r\n" % (len(OK) - 5) + OK[5:] + b"\r\n0\r\n\r\n",
        b"transfer-encoding: chunked",
    )
    async with Scripted([chunked, sized(OK)]) as srv:
        assert await pool.post(srv.url, {}, b"", 1024) == (200, OK)
        assert await pool.post(srv.url, {}, b"", 1024) == (200, OK)
    assert srv.connections == 1 and pool.opened == 1  # both framings leave the connection reusable
    # No length: the reply ends when the server closes, and that connection is not kept.
    async with Scripted([reply(OK, b"content-type: application/json")], close_after=True) as srv:
        assert await pool.post(srv.url, {}, b"", 1024) == (200, OK)
        assert await pool.post(srv.url, {}, b"", 1024) == (200, OK)
    assert srv.connections == 2


async def test_an_interim_reply_is_skipped(pool: MinerConnections) -> None:
    async with Scripted([reply(b"", status=b"100 Continue") + sized(OK, status=b"201 Created")]) as srv:
        assert await pool.post(srv.url, {}, b"", 1024) == (201, OK)


@pytest.mark.parametrize("size", [2000, 4 * 1024 * 1024])
async def test_replies_over_the_limit_are_refused(pool: MinerConnections, size: int) -> None:
    big = b"x" * size
    chunked = reply(b"%x\r\n" % len(big) + big + b"\r\n0\r\n\r\n", b"transfer-encoding: chunked")
    async with Scripted([sized(big), chunked, reply(big), sized(OK)]) as srv:
        with pytest.raises(ReplyTooLarge, match=f"reply of {size} bytes exceeds the limit of 1000"):
            await pool.post(srv.url, {}, b"", 1000)  # refused on its declared length
        with pytest.raises(ReplyTooLarge, match="exceeds the limit of 1000 bytes"):
            await pool.post(srv.url, {}, b"", 1000)  # chunked: refused as the bytes arrive
        with pytest.raises(ReplyTooLarge, match="exceeds the limit of 1000 bytes"):
            await pool.post(srv.url, {}, b"", 1000)  # no length: refused as the bytes arrive
        assert await pool.post(srv.url, {}, b"", 1000) == (200, OK)  # the next call gets its own reply
    if size > 1024 * 1024:
        # Far more than the library buffers: not read to its end, so its connection is dropped (a
        # small reply already received whole may leave its connection reusable; the call above shows
        # nothing of it reaches the next request).
        assert srv.connections == 4


async def test_reply_headers_are_bounded(pool: MinerConnections) -> None:
    many = reply(b"", *(b"x-pad-%d: %s" % (i, b"y" * 100) for i in range(200)))
    long = reply(b"", b"x-pad: " + b"y" * 10_000)
    async with Scripted([many, long]) as srv:
        with pytest.raises(InvalidReply, match="(?i)too many headers"):
            await pool.post(srv.url, {}, b"", 10**6)
        with pytest.raises(InvalidReply, match="more than 8190 bytes"):
            await pool.post(srv.url, {}, b"", 10**6)


async def test_garbage_cut_short_and_surplus_replies(pool: MinerConnections) -> None:
    async with Scripted([b"this is not HTTP at all\r\n\r\n"]) as srv:
        with pytest.raises(InvalidReply):
            await pool.post(srv.url, {}, b"", 1024)
    async with Scripted([sized(OK)[:-5]], close_after=True) as srv:
        with pytest.raises(InvalidReply, match="middle of"):
            await pool.post(srv.url, {}, b"", 1024)
    async with Scripted([None]) as srv:
        with pytest.raises(ConnectionLost, match="before"):
            await pool.post(srv.url, {}, b"", 1024)
    # Two replies to one request: the first is the answer, and the connection is never used again.
    async with Scripted([sized(OK) + sized(b"{}"), sized(b'{"second":1}')]) as srv:
        assert await pool.post(srv.url, {}, b"", 1024) == (200, OK)
        await asyncio.sleep(0.05)
        assert await pool.post(srv.url, {}, b"", 1024) == (200, b'{"second":1}')
    assert srv.connections == 2


async def test_the_client_types_these_failures() -> None:
    keypair, miner = new_keypair(), new_keypair().ss58_address
    async with SignedClient(keypair, timeout=2.0, max_reply_bytes=1000) as client:
        async with Scripted([None]) as srv:
            base = f"http://127.0.0.1:{srv.url.port}"
            with pytest.raises(Unreachable, match="closed the connection before replying"):
                await client.post(base, miner, "/v1/echo", {}, EchoOut)
        async with Scripted([sized(OK)[:-5]], close_after=True) as srv:
            base = f"http://127.0.0.1:{srv.url.port}"
            with pytest.raises(BadReply, match="invalid HTTP reply: .*middle of"):
                await client.post(base, miner, "/v1/echo", {}, EchoOut)
        async with Scripted([sized(b"x" * 2000)]) as srv:
            base = f"http://127.0.0.1:{srv.url.port}"
            with pytest.raises(BadReply, match="exceeds the limit of 1000"):
                await client.post(base, miner, "/v1/echo", {}, EchoOut)
        with pytest.raises(Unreachable, match="unsupported scheme"):
            await client.post("ftp://127.0.0.1:21", miner, "/v1/echo", {}, EchoOut)
        async with Scripted([sized(OK)]) as srv:
            base = f"http://127.0.0.1:{srv.url.port}"
            with pytest.raises(Unreachable, match="cannot address .*control character"):
                await client.post(base, miner + "\r\nx-injected: 1", "/v1/echo", {}, EchoOut)
            with pytest.raises(Unreachable, match="cannot address .*outside ASCII"):
                await client.post(base, miner + "é", "/v1/echo", {}, EchoOut)
        assert srv.requests == []  # refused before a byte of the request was sent
        async with Scripted([sized(OK)]) as srv:
            base = f"http://127.0.0.1:{srv.url.port}"
            assert (await client.post(base, miner, "/v1/echo", {}, EchoOut)).text == "hi"
        (request,) = srv.requests
        assert b"\r\nx-bittensor-signature: 0x" in request.lower() and request.endswith(b"\r\n\r\n{}")
