"""The attack matrix against a real uvicorn server on loopback: every forged or unauthorised call
is refused with 401/403 and a clear reason, and the handler never runs."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from bittensor import http_auth
from transport_servers import MIN_STAKE, Calls, Keys, gated_app, serve

from dojo.chain.base import Metagraph
from dojo.transport.server import ValidatorGate

MAX_BODY = 4096
PATH = "/v1/echo"


class Source:
    """A metagraph source that counts reads and can be swapped or broken."""

    def __init__(self, metagraph: Metagraph | None) -> None:
        self.metagraph = metagraph
        self.reads = 0

    def __call__(self) -> Metagraph:
        self.reads += 1
        if self.metagraph is None:
            raise ConnectionError("chain endpoint refused the connection")
        return self.metagraph


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="module")
def served(keys: Keys) -> Iterator[tuple[str, Calls, Source, ValidatorGate]]:
    source = Source(keys.metagraph())
    gate = ValidatorGate(keys.miner.ss58_address, source, MIN_STAKE, max_body_bytes=MAX_BODY, miss_refresh_s=60.0)
    calls = Calls()
    with serve(gated_app(gate, calls)) as srv:
        yield srv.url, calls, source, gate


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


def signed(kp, body: bytes, receiver: str, path: str = PATH, nonce_ns: int | None = None) -> dict[str, str]:
    return http_auth.sign(kp, method="POST", path=path, body=body, receiver_ss58=receiver, nonce_ns=nonce_ns)


def send(http: httpx.Client, url: str, body: bytes, headers: dict[str, str], path: str = PATH) -> httpx.Response:
    return http.post(url + path, content=body, headers={"content-type": "application/json", **headers})


def assert_refused(resp: httpx.Response, status: int, reason: str, calls: Calls, before: int) -> None:
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    assert reason in detail, detail
    assert calls.count == before, "the handler ran for a refused request"
    if status == 401:
        assert resp.headers["www-authenticate"] == "btauth/1"


def test_validator_with_permit_is_admitted(served, keys: Keys, http: httpx.Client) -> None:
    url, calls, _, _ = served
    before = calls.count
    body = b'{"text":"hello"}'
    resp = send(http, url, body, signed(keys.validator, body, keys.miner.ss58_address))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"caller": keys.validator.ss58_address, "uid": 0, "text": "hello", "size": len(body)}
    assert calls.count == before + 1


def test_validator_by_stake_alone_is_admitted(served, keys: Keys, http: httpx.Client) -> None:
    url, calls, _, _ = served
    before = calls.count
    resp = send(http, url, b"{}", signed(keys.staked, b"{}", keys.miner.ss58_address))
    assert resp.status_code == 200, resp.text
    assert resp.json()["caller"] == keys.staked.ss58_address and resp.json()["uid"] == 1
    assert calls.count == before + 1


def test_signed_query_string_is_verified_as_sent(served, keys: Keys, http: httpx.Client) -> None:
    url, calls, _, _ = served
    path = PATH + "?round=7&tag=a%20b"
    ok = send(http, url, b"{}", signed(keys.validator, b"{}", keys.miner.ss58_address, path=path), path=path)
    assert ok.status_code == 200, ok.text
    before = calls.count
    forged = send(
        http,
        url,
        b"{}",
        signed(keys.validator, b"{}", keys.miner.ss58_address, path=path),
        path=PATH + "?round=8&tag=a%20b",
    )
    assert_refused(forged, 401, "bad signature", calls, before)


def test_unsigned_request_is_refused(served, http: httpx.Client) -> None:
    url, calls, _, _ = served
    before = calls.count
    resp = send(http, url, b'{"text":"hi"}', {})
    assert_refused(
        resp,
        401,
        "unsigned request (expected btauth/1 headers): missing or unsupported X-Bittensor-Version",
        calls,
        before,
    )


def test_bad_signature_is_refused(served, keys: Keys, http: httpx.Client) -> None:
    url, calls, _, _ = served
    before = calls.count
    # Signed by a stranger, but claiming to be the validator.
    headers = signed(keys.stranger, b"{}", keys.miner.ss58_address)
    headers[http_auth.HEADER_HOTKEY] = keys.validator.ss58_address
    assert_refused(send(http, url, b"{}", headers), 401, "bad signature", calls, before)
    # A signature that is not even hex.
    headers = signed(keys.validator, b"{}", keys.miner.ss58_address)
    headers[http_auth.HEADER_SIGNATURE] = "0xnothex"
    assert_refused(send(http, url, b"{}", headers), 401, "is not hex", calls, before)


def test_tampered_body_is_refused(served, keys: Keys, http: httpx.Client) -> None:
    url, calls, _, _ = served
    before = calls.count
    headers = signed(keys.validator, b'{"text":"pay miner A"}', keys.miner.ss58_address)
    resp = send(http, url, b'{"text":"pay miner B"}', headers)
    assert_refused(resp, 401, "bad signature: signature does not verify", calls, before)


def test_replayed_nonce_is_refused(served, keys: Keys, http: httpx.Client) -> None:
    url, calls, _, _ = served
    body = b'{"text":"once"}'
    headers = signed(keys.validator, body, keys.miner.ss58_address)
    assert send(http, url, body, headers).status_code == 200
    before = calls.count
    assert_refused(send(http, url, body, headers), 401, "replayed request", calls, before)


def test_stale_and_future_nonces_are_refused(served, keys: Keys, http: httpx.Client) -> None:
    url, calls, _, _ = served
    before = calls.count
    old = signed(keys.validator, b"{}", keys.miner.ss58_address, nonce_ns=time.time_ns() - 30 * 10**9)
    assert_refused(send(http, url, b"{}", old), 401, "stale request: nonce is older than", calls, before)
    ahead = signed(keys.validator, b"{}", keys.miner.ss58_address, nonce_ns=time.time_ns() + 30 * 10**9)
    assert_refused(send(http, url, b"{}", ahead), 401, "in the future", calls, before)


def test_wrong_or_missing_receiver_is_refused(served, keys: Keys, http: httpx.Client) -> None:
    url, calls, _, _ = served
    before = calls.count
    elsewhere = signed(keys.validator, b"{}", keys.other_miner.ss58_address)
    assert_refused(send(http, url, b"{}", elsewhere), 401, "wrong receiver", calls, before)
    unbound = http_auth.sign(keys.validator, method="POST", path=PATH, body=b"{}")
    assert_refused(send(http, url, b"{}", unbound), 401, "wrong receiver: missing X-Bittensor-Receiver", calls, before)


def test_unregistered_hotkey_is_forbidden(served, keys: Keys, http: httpx.Client) -> None:
    url, calls, _, _ = served
    before = calls.count
    resp = send(http, url, b"{}", signed(keys.stranger, b"{}", keys.miner.ss58_address))
    assert_refused(resp, 403, f"hotkey {keys.stranger.ss58_address} is not registered on subnet 1", calls, before)


def test_registered_non_validator_is_forbidden(served, keys: Keys, http: httpx.Client) -> None:
    url, calls, _, _ = served
    before = calls.count
    resp = send(http, url, b"{}", signed(keys.plain, b"{}", keys.miner.ss58_address))
    assert_refused(
        resp,
        403,
        "(uid 4) is not a validator: no validator permit and stake 100 is below the minimum 1000",
        calls,
        before,
    )


def test_oversized_or_unbounded_body_is_refused_before_verification(served, keys: Keys, http: httpx.Client) -> None:
    url, calls, _, _ = served
    before = calls.count
    big = b'{"text":"' + b"x" * MAX_BODY + b'"}'
    resp = send(http, url, big, signed(keys.validator, big, keys.miner.ss58_address))
    assert resp.status_code == 413 and f"exceeds the limit of {MAX_BODY} bytes" in resp.json()["detail"]

    def chunks() -> Iterator[bytes]:
        yield b"{}"

    headers = signed(keys.validator, b"{}", keys.miner.ss58_address)
    resp = http.post(url + PATH, content=chunks(), headers=headers)  # a generator is sent chunked
    assert resp.status_code == 411 and "Content-Length" in resp.json()["detail"]
    assert calls.count == before


def test_metagraph_is_read_once_per_ttl_not_per_request(served, keys: Keys, http: httpx.Client) -> None:
    url, _, source, gate = served
    reads = source.reads
    for _ in range(20):
        body = b"{}"
        assert send(http, url, body, signed(keys.validator, body, keys.miner.ss58_address)).status_code == 200
    assert source.reads == reads <= 1
    assert gate.metagraph.fetches == source.reads


def test_new_validator_is_admitted_after_a_miss_refresh(keys: Keys, http: httpx.Client) -> None:
    before_registration = keys.metagraph()
    newcomer = Keys().validator
    after = Metagraph(
        netuid=1,
        block=101,
        neurons=before_registration.neurons
        + (
            before_registration.neurons[0].__class__(
                uid=9, hotkey=newcomer.ss58_address, coldkey="c", stake=0.0, validator_permit=True
            ),
        ),
    )
    source = Source(before_registration)
    gate = ValidatorGate(keys.miner.ss58_address, source, MIN_STAKE, cache_ttl_s=3600, miss_refresh_s=0.0)
    calls = Calls()
    with serve(gated_app(gate, calls)) as srv:
        resp = send(http, srv.url, b"{}", signed(newcomer, b"{}", keys.miner.ss58_address))
        assert resp.status_code == 403 and "not registered" in resp.json()["detail"]
        source.metagraph = after  # the chain now shows the registration
        resp = send(http, srv.url, b"{}", signed(newcomer, b"{}", keys.miner.ss58_address))
        assert resp.status_code == 200 and resp.json()["uid"] == 9
    assert calls.count == 1


def test_unreadable_metagraph_fails_closed_with_503(keys: Keys, http: httpx.Client) -> None:
    source = Source(None)
    gate = ValidatorGate(keys.miner.ss58_address, source, MIN_STAKE, miss_refresh_s=0.0)
    calls = Calls()
    with serve(gated_app(gate, calls)) as srv:
        resp = send(http, srv.url, b"{}", signed(keys.validator, b"{}", keys.miner.ss58_address))
        assert resp.status_code == 503
        assert resp.headers["retry-after"] == "5"
        assert "metagraph unavailable (ConnectionError: chain endpoint refused" in resp.json()["detail"]
        # Once the chain answers again, the same validator gets through.
        source.metagraph = keys.metagraph()
        resp = send(http, srv.url, b"{}", signed(keys.validator, b"{}", keys.miner.ss58_address))
        assert resp.status_code == 200, resp.text
    assert calls.count == 1


def test_a_window_longer_than_the_nonce_retention_is_refused_up_front(keys: Keys) -> None:
    with pytest.raises(ValueError, match="shorter than the freshness window 62s"):
        ValidatorGate(keys.miner.ss58_address, keys.metagraph, MIN_STAKE, max_age_s=60.0)
