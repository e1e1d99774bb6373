"""SignedClient against real loopback servers: replies and typed errors per miner, and a fan-out
whose total time is one timeout, not the sum of the slow miners' delays."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from transport_servers import (
    MIN_STAKE,
    Calls,
    EchoIn,
    EchoOut,
    Keys,
    gated_app,
    new_keypair,
    raw_tcp_server,
    serve,
)

from dojo.chain.base import Metagraph, Neuron
from dojo.transport import BadReply, Rejected, SignedClient, Target, Timeout, Unreachable
from dojo.transport.client import _Nonces
from dojo.transport.server import ValidatorGate
from support import free_port

TIMEOUT = 1.5  # per call; every timing bound below is < 2 x TIMEOUT, far below the sum of the hangs
N_FAST = 6
N_SLOW = 3


class Miners:
    """Many miner identities on one server: miner ``i`` is mounted at ``/m/i`` with its own gate.

    The last ``n_slow`` identities hang on ``/v1/echo`` (a miner that never answers in time).
    """

    def __init__(self, keys: Keys, n_fast: int, n_slow: int, min_stake: float = MIN_STAKE) -> None:
        n = n_fast + n_slow
        self.hotkeys = [new_keypair() for _ in range(n)]
        extra = tuple(
            Neuron(uid=100 + i, hotkey=kp.ss58_address, coldkey="c", stake=0.0, validator_permit=False)
            for i, kp in enumerate(self.hotkeys)
        )
        base = keys.metagraph()
        snapshot = Metagraph(netuid=1, block=base.block, neurons=base.neurons + extra)
        self.calls = Calls()
        self.active = 0
        self.peak = 0
        self.app = FastAPI()
        for i, kp in enumerate(self.hotkeys):
            gate = ValidatorGate(kp.ss58_address, lambda: snapshot, min_stake)
            self.app.mount(f"/m/{i}", self._hanging_app(gate) if i >= n_fast else self._miner_app(gate))

    def _hanging_app(self, gate: ValidatorGate) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/echo")
        async def hang(caller: str = Depends(gate)) -> EchoOut:
            await asyncio.sleep(30)  # far beyond any client timeout
            return EchoOut(caller=caller, uid=0, text="late", size=0)

        return app

    def _miner_app(self, gate: ValidatorGate) -> FastAPI:
        app = gated_app(gate, self.calls)

        @app.post("/v1/busy")
        async def busy(request: Request, caller: str = Depends(gate)) -> EchoOut:
            self.active += 1
            self.peak = max(self.peak, self.active)
            await asyncio.sleep(0.2)  # simulated work, to observe how many calls overlap
            self.active -= 1
            return EchoOut(caller=caller, uid=0, text="done", size=0)

        @app.post("/v1/wrong-shape")
        async def wrong_shape(caller: str = Depends(gate)) -> dict[str, str]:
            return {"unexpected": "fields"}

        @app.post("/v1/not-json")
        async def not_json(caller: str = Depends(gate)) -> Response:
            return Response(b"<html>oops</html>", media_type="text/html")

        @app.post("/v1/huge")
        async def huge(caller: str = Depends(gate)) -> Response:
            return Response(b'{"text":"' + b"x" * 5000 + b'"}', media_type="application/json")

        @app.post("/v1/teapot")
        async def teapot(caller: str = Depends(gate)) -> JSONResponse:
            return JSONResponse({"detail": "worker API is down"}, status_code=503)

        return app


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="module")
def miners(keys: Keys) -> Iterator[tuple[Miners, str]]:
    m = Miners(keys, N_FAST, N_SLOW)
    with serve(m.app) as srv:
        yield m, srv.url


def target(m: Miners, url: str, i: int) -> Target:
    return Target(hotkey=m.hotkeys[i].ss58_address, address=f"{url}/m/{i}", uid=100 + i)


async def test_post_returns_the_parsed_reply(miners, keys: Keys) -> None:
    m, url = miners
    async with SignedClient(keys.validator, timeout=TIMEOUT) as client:
        t = target(m, url, 0)
        reply = await client.post(t.address, t.hotkey, "/v1/echo", EchoIn(text="hi"), EchoOut)
        assert reply == EchoOut(caller=keys.validator.ss58_address, uid=0, text="hi", size=len(b'{"text":"hi"}'))
        # A dict body, and a query string that httpx percent-encodes: the signature covers what is sent.
        reply = await client.post(t.address, t.hotkey, "/v1/echo?tag=a b&x=é", {"text": "q"}, EchoOut)
        assert reply.text == "q"


async def test_post_raises_typed_errors(miners, keys: Keys) -> None:
    m, url = miners
    t = target(m, url, 1)
    async with SignedClient(keys.validator, timeout=TIMEOUT, max_reply_bytes=4096) as client:
        with pytest.raises(Rejected) as rejected:  # signed for another miner than the one that answers
            await client.post(t.address, keys.other_miner.ss58_address, "/v1/echo", {}, EchoOut)
        assert rejected.value.status == 401 and rejected.value.detail.startswith("wrong receiver")
        assert rejected.value.hotkey == keys.other_miner.ss58_address and rejected.value.kind == "rejected"
        with pytest.raises(Rejected) as down:
            await client.post(t.address, t.hotkey, "/v1/teapot", {}, EchoOut)
        assert (down.value.status, down.value.detail) == (503, "worker API is down")
        with pytest.raises(BadReply, match="not a valid EchoOut"):
            await client.post(t.address, t.hotkey, "/v1/wrong-shape", {}, EchoOut)
        with pytest.raises(BadReply, match="not a valid EchoOut"):
            await client.post(t.address, t.hotkey, "/v1/not-json", {}, EchoOut)
        with pytest.raises(BadReply, match="exceeds the limit of 4096"):
            await client.post(t.address, t.hotkey, "/v1/huge", {}, EchoOut)
        with pytest.raises(Unreachable, match="cannot connect"):
            await client.post(f"http://127.0.0.1:{free_port()}", t.hotkey, "/v1/echo", {}, EchoOut)
        s = target(m, url, N_FAST)
        started = time.monotonic()
        with pytest.raises(Timeout, match=f"no reply within {TIMEOUT:g}s"):
            await client.post(s.address, s.hotkey, "/v1/echo", {}, EchoOut)
        assert TIMEOUT - 0.05 <= time.monotonic() - started < 2 * TIMEOUT
    async with SignedClient(keys.plain, timeout=TIMEOUT) as client:
        with pytest.raises(Rejected, match="403.*is not a validator"):
            await client.post(t.address, t.hotkey, "/v1/echo", {}, EchoOut)


async def test_fan_out_isolates_slow_dead_and_garbage_miners(miners, keys: Keys) -> None:
    m, url = miners
    garbage_server, garbage_port = await raw_tcp_server(b"this is not HTTP at all\r\n\r\n")
    silent_server, silent_port = await raw_tcp_server(None)
    fast = [target(m, url, i) for i in range(N_FAST)]
    slow = [target(m, url, N_FAST + i) for i in range(N_SLOW)]
    dead = [Target(new_keypair().ss58_address, f"http://127.0.0.1:{free_port()}", 200 + i) for i in range(2)]
    garbage = Target(new_keypair().ss58_address, f"http://127.0.0.1:{garbage_port}", 300)
    silent = Target(new_keypair().ss58_address, f"http://127.0.0.1:{silent_port}", 301)
    targets = [*fast, *slow, *dead, garbage, silent]

    def body_for(t: Target) -> EchoIn:
        return EchoIn(text=f"task for uid {t.uid}")

    try:
        async with SignedClient(keys.validator, timeout=TIMEOUT) as client:
            started = time.monotonic()
            results = await client.fan_out(targets, "/v1/echo", body_for, EchoOut)
            elapsed = time.monotonic() - started
    finally:
        garbage_server.close()
        silent_server.close()

    assert set(results) == {t.hotkey for t in targets}
    for t in fast:
        reply = results[t.hotkey]
        assert isinstance(reply, EchoOut), reply
        assert reply.text == f"task for uid {t.uid}" and reply.caller == keys.validator.ss58_address
    for t in dead:
        assert isinstance(results[t.hotkey], Unreachable), results[t.hotkey]
    assert isinstance(results[garbage.hotkey], BadReply) and "invalid HTTP reply" in str(results[garbage.hotkey])
    assert isinstance(results[silent.hotkey], Timeout)
    for t in slow:
        err = results[t.hotkey]
        assert isinstance(err, Timeout) and err.hotkey == t.hotkey and err.address == t.address
    # Four miners hang for at least the timeout; all together cost one timeout, not four.
    assert TIMEOUT - 0.05 <= elapsed < 2 * TIMEOUT, elapsed


async def test_fast_miners_do_not_wait_for_hanging_ones(miners, keys: Keys) -> None:
    m, url = miners
    slow = [target(m, url, N_FAST + i) for i in range(N_SLOW)]
    fast = [target(m, url, i) for i in range(2)]
    async with SignedClient(keys.validator, timeout=TIMEOUT) as client:
        started = time.monotonic()
        hanging = asyncio.ensure_future(client.fan_out(slow, "/v1/echo", {}, EchoOut))
        quick_results = await client.fan_out(fast, "/v1/echo", {"text": "x"}, EchoOut)
        quick_done = time.monotonic() - started
        slow_results = await hanging
        all_done = time.monotonic() - started
    assert all(isinstance(r, EchoOut) for r in quick_results.values())
    assert quick_done < TIMEOUT / 2, "fast miners waited for the hanging ones"
    assert all(isinstance(r, Timeout) for r in slow_results.values())
    assert TIMEOUT - 0.05 <= all_done < 2 * TIMEOUT


async def test_fan_out_respects_the_concurrency_bound(miners, keys: Keys) -> None:
    m, url = miners
    targets = [target(m, url, i) for i in range(4)]
    m.peak = 0
    async with SignedClient(keys.validator, timeout=TIMEOUT * 3, max_concurrency=2) as client:
        started = time.monotonic()
        results = await client.fan_out(targets, "/v1/busy", {}, EchoOut)
        elapsed = time.monotonic() - started
    assert all(isinstance(r, EchoOut) for r in results.values())
    assert m.peak == 2
    assert elapsed >= 0.4  # two waves of 0.2 s


def test_nonces_never_repeat() -> None:
    nonces = _Nonces()
    seen = [nonces.next() for _ in range(10_000)]
    assert all(b > a for a, b in zip(seen, seen[1:], strict=False))
    assert abs(seen[0] - time.time_ns()) < 5 * 10**9


def test_client_refuses_nonsense_settings(keys: Keys) -> None:
    with pytest.raises(ValueError, match="timeout must be positive"):
        SignedClient(keys.validator, timeout=0)
    with pytest.raises(ValueError, match="max_concurrency must be at least 1"):
        SignedClient(keys.validator, timeout=1, max_concurrency=0)


async def test_fan_out_refuses_duplicate_hotkeys(keys: Keys) -> None:
    twice = [Target(keys.miner.ss58_address, "http://127.0.0.1:1", 1)] * 2
    async with SignedClient(keys.validator, timeout=1) as client:
        with pytest.raises(ValueError, match="distinct hotkeys"):
            await client.fan_out(twice, "/v1/heartbeat", {}, EchoOut)


def test_body_model_is_the_signed_bytes() -> None:
    class Body(BaseModel):
        a: int
        b: str

    from dojo.transport.client import encode_body

    assert encode_body(Body(a=1, b="é")) == Body(a=1, b="é").model_dump_json().encode()
    assert encode_body({"a": 1, "b": [1, 2]}) == b'{"a":1,"b":[1,2]}'


async def test_connection_pools_are_bounded(miners) -> None:
    import httpx

    from dojo.transport.pools import ConnectFailed, MinerConnections

    pool = MinerConnections(per_host=2)
    port = free_port()  # nothing listens: the connection is refused
    with pytest.raises(ConnectFailed):
        await pool.post(httpx.URL(f"http://127.0.0.1:{port}/"), {}, b"", 1024)
    assert pool.opened == 0
    # Six calls at once to one origin: at most ``per_host`` connections; the others wait for one.
    _, url = miners
    replies = await asyncio.gather(*(pool.post(httpx.URL(f"{url}/nowhere"), {}, b"", 1024) for _ in range(6)))
    assert [status for status, _ in replies] == [404] * 6
    assert pool.opened == 2
    await pool.aclose()
    with pytest.raises(ValueError, match="per_host"):
        MinerConnections(per_host=0)


async def test_calls_to_a_miner_reuse_its_connection_until_idle_too_long(miners, keys: Keys) -> None:
    import httpx

    from dojo.transport.pools import MinerConnections

    m, url = miners
    t, u = target(m, url, 0), target(m, url, 1)
    pool = MinerConnections(per_host=2, keepalive_expiry=0.5)
    async with SignedClient(keys.validator, timeout=TIMEOUT, connections=pool) as client:
        for i in range(3):  # one after the other: one connection, each request signed with its own nonce
            reply = await client.post(t.address, t.hotkey, "/v1/echo", {"text": f"n{i}"}, EchoOut)
            assert reply.text == f"n{i}"
        assert pool.opened == 1
        # Another miner behind the same origin (one server here) shares the idle connection: the
        # signature, not the connection, says which miner a request is for.
        assert (await client.post(u.address, u.hotkey, "/v1/echo", {}, EchoOut)).caller == keys.validator.ss58_address
        assert pool.opened == 1
        # At once: the idle connection and one more (``per_host``); the other calls wait for one of them.
        at_once = await asyncio.gather(*(client.post(t.address, t.hotkey, "/v1/echo", {}, EchoOut) for _ in range(4)))
        assert all(isinstance(r, EchoOut) for r in at_once)
        assert pool.opened == 2
        # A rejection is a complete reply: the connection stays usable.
        with pytest.raises(Rejected):
            await client.post(t.address, keys.other_miner.ss58_address, "/v1/echo", {}, EchoOut)
        await client.post(t.address, t.hotkey, "/v1/echo", {}, EchoOut)
        assert pool.opened == 2
        await asyncio.sleep(0.6)  # past the idle expiry: the next call opens a fresh connection
        await client.post(t.address, t.hotkey, "/v1/echo", {}, EchoOut)
        assert pool.opened == 3
    # Closing the client drops every kept connection: a call made afterwards opens its own.
    await pool.post(httpx.URL(t.address + "/v1/echo"), {}, b"{}", 1024)
    assert pool.opened == 4
    await pool.aclose()


async def test_a_timed_out_call_does_not_leave_its_connection_for_the_next(miners, keys: Keys) -> None:
    from dojo.transport.pools import MinerConnections

    m, url = miners
    slow, fast = target(m, url, N_FAST), target(m, url, 0)
    pool = MinerConnections()
    async with SignedClient(keys.validator, timeout=0.3, connections=pool) as client:
        with pytest.raises(Timeout):
            await client.post(slow.address, slow.hotkey, "/v1/echo", {}, EchoOut)
        # The late reply could still arrive on it: closed, never reused (the next call, to the same
        # origin, opens its own connection).
        assert (await client.post(fast.address, fast.hotkey, "/v1/echo", {"text": "after"}, EchoOut)).text == "after"
        assert pool.opened == 2


def test_request_targets_are_what_httpx_would_send(keys: Keys) -> None:
    import httpx

    client = SignedClient(keys.validator, timeout=1.0)
    addresses = [
        "http://127.0.0.1:8091",
        "http://127.0.0.1:8091/",
        "http://h:1/m/0",
        "https://[::1]/a%20b/",
        "http://h/?q=1",
    ]
    paths = ["/v1/tasks", "/v1/tasks/3f1c-9a_b/results", "/v1/echo?tag=a b&x=é", "/x/../y", "//z", "/", "/ä"]
    for address in addresses:
        for path in paths:
            url, target = client._target(address, path)
            full = httpx.URL(address.rstrip("/") + path)
            assert target == full.raw_path.decode("ascii"), (address, path)
            assert (url.raw_scheme, url.raw_host, url.port, url.netloc) == (
                full.raw_scheme,
                full.raw_host,
                full.port,
                full.netloc,
            )


def test_auth_headers_match_the_sdk_and_verify(keys: Keys) -> None:
    from bittensor import http_auth

    client = SignedClient(keys.validator, timeout=1.0)
    body = b'{"a":1}'
    ours = client.auth_headers("POST", "/v1/tasks?x=1", body, keys.miner.ss58_address)
    nonce = int(ours[http_auth.HEADER_NONCE])
    sdk = http_auth.sign(
        keys.validator,
        method="POST",
        path="/v1/tasks?x=1",
        body=body,
        receiver_ss58=keys.miner.ss58_address,
        nonce_ns=nonce,
    )
    assert set(ours) == set(sdk)
    assert {k: v for k, v in ours.items() if k != http_auth.HEADER_SIGNATURE} == {
        k: v for k, v in sdk.items() if k != http_auth.HEADER_SIGNATURE
    }  # sr25519 signatures are randomised
    caller = http_auth.verify(
        ours,
        body,
        method="POST",
        path="/v1/tasks?x=1",
        self_hotkey_ss58=keys.miner.ss58_address,
        nonce_store=http_auth.InMemoryNonceStore(),
    )
    assert caller.hotkey_ss58 == keys.validator.ss58_address and caller.nonce_ns == nonce
    with pytest.raises(http_auth.BadSignature):
        http_auth.verify(
            ours,
            b'{"a":2}',
            method="POST",
            path="/v1/tasks?x=1",
            self_hotkey_ss58=keys.miner.ss58_address,
            nonce_store=http_auth.InMemoryNonceStore(),
        )
