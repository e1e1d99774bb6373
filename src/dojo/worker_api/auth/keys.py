"""API keys and subscription keys: random, shown once, stored as a SHA-256 hash, listed by prefix."""

from __future__ import annotations

import hashlib
import secrets

API_KEY = "ak"
SUBSCRIPTION_KEY = "sk"
PREFIX_CHARS = 8


def new_key(kind: str) -> tuple[str, str]:
    """A fresh key of ``kind`` and its public prefix: ``("dojo_ak_Ab12Cd34…", "dojo_ak_Ab12Cd34")``."""
    body = secrets.token_urlsafe(32).replace("-", "x").replace("_", "y")
    key = f"dojo_{kind}_{body}"
    return key, key[: len(f"dojo_{kind}_") + PREFIX_CHARS]


def hash_key(key: str) -> str:
    """The stored form of a key (keys carry 256 random bits, so a fast hash is enough)."""
    return hashlib.sha256(key.encode()).hexdigest()
