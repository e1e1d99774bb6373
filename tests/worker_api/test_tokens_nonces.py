"""Expiry of session tokens and of one-time values (nonces, challenges); key format and hashing."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from tests.worker_api.conftest import World

from dojo.errors import ApiError
from dojo.worker_api.auth import nonces
from dojo.worker_api.auth.keys import hash_key, new_key
from dojo.worker_api.auth.tokens import LABELLER, MINER, TokenService, load_or_create_secret


async def test_one_time_values_expire_and_are_taken_once(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(nonces.time, "monotonic", lambda: now[0])
    store = nonces.MemoryOneTimeStore(max_entries=3)
    await store.put("a", "1", ttl_s=300)
    await store.put("b", "2", ttl_s=300)
    assert await store.take("a") == "1" and await store.take("a") is None
    now[0] += 301
    assert await store.take("b") is None  # expired
    for k in "cdef":
        await store.put(k, k, ttl_s=300)
    assert await store.take("c") is None and await store.take("f") == "f"  # bounded: the oldest went first


def test_tokens_expire_and_are_bound_to_audience_and_secret() -> None:
    svc = TokenService("s" * 40, ttl_s=60, instance="i" * 32)
    token, expires_at, jti = svc.issue(LABELLER, "0xabc", 7)
    claims = svc.verify(token, LABELLER)
    assert (claims.subject, claims.user_id, claims.jti, claims.expires_at) == ("0xabc", 7, jti, expires_at)
    with pytest.raises(ApiError, match="not valid for this endpoint"):
        svc.verify(token, MINER)
    with pytest.raises(ApiError, match="invalid session token"):
        TokenService("t" * 40, 60, instance="i" * 32).verify(token, LABELLER)
    expired = jwt.encode(
        {"sub": "0xabc", "uid": 7, "aud": LABELLER, "jti": "x", "exp": int(time.time()) - 5},
        "s" * 40,
        algorithm="HS256",
    )
    with pytest.raises(ApiError, match="expired"):
        svc.verify(expired, LABELLER)


async def test_an_expired_jwt_is_401(world: World) -> None:
    secret = world.app.state.services.settings.worker.jwt_secret
    expired = jwt.encode(
        {"sub": "0xabc", "uid": 1, "aud": LABELLER, "jti": "x", "exp": int(time.time()) - 5}, secret, algorithm="HS256"
    )
    resp = await world.client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401 and "expired" in resp.json()["error"]


def test_keys_are_random_prefixed_and_stored_hashed(tmp_path: Path) -> None:
    key, prefix = new_key("ak")
    other, _ = new_key("ak")
    assert key.startswith(prefix) and prefix.startswith("dojo_ak_") and len(prefix) == 16 and key != other
    assert len(key) > 40 and hash_key(key) != key and len(hash_key(key)) == 64
    secret = load_or_create_secret(None, tmp_path / "home")
    assert load_or_create_secret(None, tmp_path / "home") == secret and len(secret) >= 32
    assert load_or_create_secret("given", tmp_path / "home") == "given"
