"""Miner login: a server challenge (nonce + expiry) signed by the miner's hotkey (sr25519)."""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from dojo.errors import ApiError
from dojo.worker_api.auth.nonces import OneTimeStore

_KEY = "miner:"
_NONCE_LINE = re.compile(r"^nonce: ([0-9a-f]{32})$", re.MULTILINE)
_SS58 = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{40,64}$")
_SIG = re.compile(r"^(0x)?[0-9a-fA-F]{128}$")

Registered = Callable[[str], Awaitable[bool]]


def _keypair(hotkey: str) -> object:
    from bittensor.keyfiles import Keypair  # slow import: only when a miner logs in

    try:
        return Keypair(ss58_address=hotkey)
    except Exception as exc:  # noqa: BLE001 - invalid ss58 raises ValueError
        raise ApiError(422, f"hotkey is not a valid ss58 address: {exc}") from exc


def check_hotkey(hotkey: str) -> None:
    """A 422 unless ``hotkey`` looks like an ss58 address and decodes as one."""
    if not _SS58.match(hotkey or ""):
        raise ApiError(422, "hotkey must be an ss58 address")
    _keypair(hotkey)


@dataclass
class MinerLogin:
    """Issues challenges and verifies their signatures; ``registered`` checks the chain."""

    store: OneTimeStore
    ttl_s: int
    registered: Registered
    netuid: int

    async def challenge(self, hotkey: str) -> tuple[str, datetime]:
        """The exact text to sign and when it expires."""
        check_hotkey(hotkey)
        nonce = secrets.token_hex(16)
        expires = (datetime.now(timezone.utc) + timedelta(seconds=self.ttl_s)).replace(microsecond=0)
        message = f"Dojo worker API login\nhotkey: {hotkey}\nnonce: {nonce}\nexpires_at: {expires.isoformat()}"
        await self.store.put(_KEY + nonce, f"{time.time() + self.ttl_s}\n{message}", self.ttl_s)
        return message, expires

    async def verify(self, hotkey: str, message: str, signature: str) -> str:
        """The hotkey once its signature over a live challenge checks out and it is registered."""
        check_hotkey(hotkey)
        found = _NONCE_LINE.search(message or "")
        if not found:
            raise ApiError(401, "message is not a challenge issued by this server: GET /api/v1/miner/challenge")
        stored = await self.store.take(_KEY + found.group(1))  # single use, even on failure
        if stored is None:
            raise ApiError(401, "unknown, already used or expired challenge: request a new one")
        deadline, issued = stored.split("\n", 1)
        if issued != message:
            raise ApiError(401, "message differs from the challenge this server issued")
        if float(deadline) < time.time():
            raise ApiError(401, "the challenge has expired: request a new one")
        if f"\nhotkey: {hotkey}\n" not in issued:
            raise ApiError(401, "the challenge was issued for another hotkey")
        if not _SIG.match(signature or ""):
            raise ApiError(401, "signature must be 64 bytes of hex")
        sig = bytes.fromhex(signature.removeprefix("0x"))
        keypair = _keypair(hotkey)
        valid = await asyncio.to_thread(keypair.verify, message.encode(), sig)  # type: ignore[attr-defined]
        if not valid:
            raise ApiError(401, "the signature does not match the hotkey and message")
        if not await self.registered(hotkey):
            raise ApiError(403, f"hotkey {hotkey} is not registered on subnet {self.netuid}")
        return hotkey
