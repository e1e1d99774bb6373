"""Logins (SIWE for labellers, hotkey challenge for miners), tokens, nonces and keys.

``tokens`` (the JWTs and who they name), ``siwe_login`` / ``miner_login`` (the two logins),
``nonces`` (single-use challenges, in memory or Redis), ``revocation`` (logged-out tokens),
``binding`` (a token's account still exists), ``registration`` (miners registered on the chain),
``keys`` (API and subscription keys). The names below are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dojo._lazy import lazy_exports

if TYPE_CHECKING:
    from dojo.worker_api.auth.binding import AccountBinding
    from dojo.worker_api.auth.keys import hash_key, new_key
    from dojo.worker_api.auth.miner_login import MinerLogin
    from dojo.worker_api.auth.nonces import OneTimeStore, make_one_time_store
    from dojo.worker_api.auth.registration import Registry, chain_metagraph
    from dojo.worker_api.auth.revocation import RevocationCache
    from dojo.worker_api.auth.siwe_login import SiweLogin
    from dojo.worker_api.auth.tokens import LABELLER, MINER, Claims, TokenService, load_or_create_secret

_EXPORTS = {
    "AccountBinding": "dojo.worker_api.auth.binding",
    "hash_key": "dojo.worker_api.auth.keys",
    "new_key": "dojo.worker_api.auth.keys",
    "MinerLogin": "dojo.worker_api.auth.miner_login",
    "OneTimeStore": "dojo.worker_api.auth.nonces",
    "make_one_time_store": "dojo.worker_api.auth.nonces",
    "Registry": "dojo.worker_api.auth.registration",
    "chain_metagraph": "dojo.worker_api.auth.registration",
    "RevocationCache": "dojo.worker_api.auth.revocation",
    "SiweLogin": "dojo.worker_api.auth.siwe_login",
    "LABELLER": "dojo.worker_api.auth.tokens",
    "MINER": "dojo.worker_api.auth.tokens",
    "Claims": "dojo.worker_api.auth.tokens",
    "TokenService": "dojo.worker_api.auth.tokens",
    "load_or_create_secret": "dojo.worker_api.auth.tokens",
}

__all__ = [
    "LABELLER",
    "MINER",
    "AccountBinding",
    "Claims",
    "MinerLogin",
    "OneTimeStore",
    "Registry",
    "RevocationCache",
    "SiweLogin",
    "TokenService",
    "chain_metagraph",
    "hash_key",
    "load_or_create_secret",
    "make_one_time_store",
    "new_key",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
