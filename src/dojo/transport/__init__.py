"""Signed HTTP between validators and miners (``btauth/1`` from the bittensor SDK).

Server side: :class:`ValidatorGate` (a FastAPI dependency) and the nonce stores. Client side:
:class:`SignedClient` with typed per-miner errors.
"""

from dojo.errors import BadReply, Rejected, Timeout, TransportError, Unreachable
from dojo.transport.client import SignedClient, Target, encode_body
from dojo.transport.nonces import InMemoryNonceStore, NonceStore, RedisNonceStore, make_nonce_store
from dojo.transport.server import ValidatorGate

__all__ = [
    "BadReply",
    "InMemoryNonceStore",
    "NonceStore",
    "RedisNonceStore",
    "Rejected",
    "SignedClient",
    "Target",
    "Timeout",
    "TransportError",
    "Unreachable",
    "ValidatorGate",
    "encode_body",
    "make_nonce_store",
]
