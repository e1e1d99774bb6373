"""Gate and client built from the settings tree."""

from __future__ import annotations

from pathlib import Path

from bittensor import http_auth
from transport_servers import Keys

from dojo.config import load_settings
from dojo.transport import RedisNonceStore, SignedClient, ValidatorGate


def test_gate_from_settings(tmp_home: Path) -> None:
    keys = Keys()
    settings = load_settings(
        redis_url="redis://127.0.0.1:6379/0",
        chain__min_validator_stake=42.0,
        transport__nonce_prefix="t:",
        transport__max_body_bytes=1234,
        transport__metagraph_cache_s=3.0,
    )
    gate = ValidatorGate.from_settings(settings, keys.miner.ss58_address, keys.metagraph)
    assert gate.min_stake == 42.0 and gate.max_body_bytes == 1234 and gate.metagraph.ttl_s == 3.0
    assert isinstance(gate.nonce_store, RedisNonceStore) and gate.nonce_store.prefix == "t:"
    local = ValidatorGate.from_settings(load_settings(), keys.miner.ss58_address, keys.metagraph)
    assert isinstance(local.nonce_store, http_auth.InMemoryNonceStore)


async def test_client_from_settings_takes_the_profile_timeout(tmp_home: Path) -> None:
    keys = Keys()
    async with SignedClient.from_settings(load_settings(profile="fast"), keys.validator) as fast:
        assert fast.timeout == 5.0 and fast.max_concurrency == 256
    settings = load_settings(profile="prod", transport__request_timeout_s=2.5, transport__max_concurrency=8)
    async with SignedClient.from_settings(settings, keys.validator) as tuned:
        assert tuned.timeout == 2.5 and tuned.max_concurrency == 8 and tuned.hotkey == keys.validator.ss58_address
