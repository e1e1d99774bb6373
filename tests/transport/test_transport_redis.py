"""Replay protection shared through Redis: across store instances and across two server processes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest
import redis
from bittensor import http_auth
from transport_servers import MIN_STAKE, Calls, EchoOut, Keys, gated_app, serve

from dojo.transport.client import SignedClient
from dojo.transport.nonces import InMemoryNonceStore, RedisNonceStore, make_nonce_store
from dojo.transport.server import ValidatorGate
from support import free_port, stop, wait_http_ok

HERE = Path(__file__).parent
REDIS_URL = os.environ.get("DOJO_TEST_REDIS", "redis://127.0.0.1:6379/0")  # as in conftest.py


def test_make_nonce_store_picks_backend(redis_prefix: str) -> None:
    assert isinstance(make_nonce_store(None), InMemoryNonceStore)
    store = make_nonce_store(REDIS_URL, redis_prefix)
    assert isinstance(store, RedisNonceStore) and store.prefix == redis_prefix


def test_redis_store_is_shared_and_expires(redis_prefix: str) -> None:
    a = RedisNonceStore(REDIS_URL, redis_prefix, retention=30)
    b = RedisNonceStore(REDIS_URL, redis_prefix, retention=30)
    assert a.check_and_store("hk", 1) is True
    assert b.check_and_store("hk", 1) is False  # another process's store sees the same pair
    assert b.check_and_store("hk", 2) is True
    assert asyncio.run(b.acheck_and_store("hk", 1)) is False
    assert asyncio.run(a.acheck_and_store("other", 1)) is True
    ttl_ms = redis.Redis.from_url(REDIS_URL).pttl(f"{redis_prefix}hk:1")
    assert 0 < ttl_ms <= 30_000


def test_redis_store_refuses_a_retention_shorter_than_the_window() -> None:
    with pytest.raises(ValueError, match="shorter than the freshness window"):
        RedisNonceStore(REDIS_URL, "x:", retention=5)


@pytest.fixture
def two_servers(tmp_path: Path, redis_prefix: str) -> Iterator[tuple[Keys, list[str]]]:
    keys = Keys()
    config = {
        "self_hotkey": keys.miner.ss58_address,
        "min_stake": MIN_STAKE,
        "redis_url": REDIS_URL,
        "prefix": redis_prefix,
        "neurons": [asdict(n) for n in keys.metagraph().neurons],
    }
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(config))
    procs, urls = [], []
    try:
        for i in range(2):
            port = free_port()
            log = open(tmp_path / f"server{i}.log", "wb")  # noqa: SIM115 - closed when the test ends
            procs.append(
                subprocess.Popen(
                    [sys.executable, str(HERE / "gate_server_main.py"), str(path), str(port)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url in urls:
            wait_http_ok(url + "/calls", timeout=30)
        yield keys, urls
    finally:
        for proc in procs:
            stop(proc)


def test_replay_across_two_processes_sharing_redis_is_refused(two_servers) -> None:
    keys, (first, second) = two_servers
    body = b'{"text":"dispatch"}'
    headers = http_auth.sign(
        keys.validator, method="POST", path="/v1/echo", body=body, receiver_ss58=keys.miner.ss58_address
    )
    headers["content-type"] = "application/json"
    with httpx.Client(timeout=5) as http:
        ok = http.post(first + "/v1/echo", content=body, headers=headers)
        assert ok.status_code == 200 and ok.json()["caller"] == keys.validator.ss58_address
        replay = http.post(second + "/v1/echo", content=body, headers=headers)
        assert replay.status_code == 401 and "replayed request" in replay.json()["detail"], replay.text
        again = http.post(first + "/v1/echo", content=body, headers=headers)
        assert again.status_code == 401 and "replayed request" in again.json()["detail"]
        assert http.get(first + "/calls").json() == {"count": 1}
        assert http.get(second + "/calls").json() == {"count": 0}
        # A fresh signature of the same body still gets through the second process.
        fresh = http_auth.sign(
            keys.validator, method="POST", path="/v1/echo", body=body, receiver_ss58=keys.miner.ss58_address
        )
        assert http.post(second + "/v1/echo", content=body, headers=fresh).status_code == 200
        assert http.get(second + "/calls").json() == {"count": 1}


def test_unreachable_redis_fails_closed_with_503() -> None:
    keys = Keys()
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    gate = ValidatorGate(keys.miner.ss58_address, keys.metagraph, MIN_STAKE, make_nonce_store(dead_redis))
    calls = Calls()
    with serve(gated_app(gate, calls)) as srv, httpx.Client(timeout=10) as http:
        body = b"{}"
        headers = http_auth.sign(
            keys.validator, method="POST", path="/v1/echo", body=body, receiver_ss58=keys.miner.ss58_address
        )
        resp = http.post(srv.url + "/v1/echo", content=body, headers=headers)
        assert resp.status_code == 503, resp.text
        assert "replay protection unavailable" in resp.json()["detail"]
        assert resp.headers["retry-after"] == "5"
    assert calls.count == 0


async def test_a_burst_of_signed_calls_queues_for_redis_instead_of_failing(redis_prefix: str) -> None:
    keys = Keys()
    gate = ValidatorGate(keys.miner.ss58_address, keys.metagraph, MIN_STAKE, make_nonce_store(REDIS_URL, redis_prefix))
    calls = Calls()
    with serve(gated_app(gate, calls)) as srv:
        async with SignedClient(keys.validator, timeout=20.0) as client:
            replies = await asyncio.gather(
                *(
                    client.post(srv.url, keys.miner.ss58_address, "/v1/echo", {"text": str(i)}, EchoOut)
                    for i in range(150)
                ),
                return_exceptions=True,
            )
    failures = [r for r in replies if not isinstance(r, EchoOut)]
    assert not failures, failures[:3]
    assert sorted(int(r.text) for r in replies) == list(range(150))
    assert calls.count == 150
    stored = redis.Redis.from_url(REDIS_URL).keys(f"{redis_prefix}{keys.validator.ss58_address}:*")
    assert len(stored) == 150
