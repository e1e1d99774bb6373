"""Labeller login by Sign-In with Ethereum (EIP-4361): server nonce, single use, domain and chain checked."""

from __future__ import annotations

import asyncio
import re
import warnings
from dataclasses import dataclass

from dojo.worker_api.auth.nonces import OneTimeStore
from dojo.worker_api.envelope import ApiError

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NONCE_KEY = "siwe:"


def _siwe() -> object:
    with warnings.catch_warnings():  # the abnf grammar shipped with siwe warns on import
        warnings.simplefilter("ignore")
        import siwe

    return siwe


def checksum_address(address: str) -> str:
    """The EIP-55 form of ``address``, or a 422 when it is not a 20-byte hex address."""
    if not _ADDRESS.match(address or ""):
        raise ApiError(422, "address must be 0x followed by 40 hex digits")
    from eth_utils import to_checksum_address

    return str(to_checksum_address(address))


@dataclass
class SiweLogin:
    """Issues nonces and verifies signed EIP-4361 messages against them."""

    store: OneTimeStore
    domain: str
    chain_id: int
    nonce_ttl_s: int

    async def issue_nonce(self, address: str) -> str:
        """A fresh nonce bound to ``address``, valid once for ``nonce_ttl_s`` seconds."""
        siwe = _siwe()
        nonce = siwe.generate_nonce()  # type: ignore[attr-defined]
        await self.store.put(_NONCE_KEY + nonce, checksum_address(address), self.nonce_ttl_s)
        return str(nonce)

    async def verify(self, message: str, signature: str) -> str:
        """The signer's checksummed address, or a 401 saying why the login is refused."""
        siwe = _siwe()
        try:
            parsed = siwe.SiweMessage.from_message(message)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - siwe raises several parser errors
            raise ApiError(401, f"not a valid EIP-4361 message: {str(exc)[:200]}") from exc
        bound = await self.store.take(_NONCE_KEY + parsed.nonce)  # consumed whatever happens next
        if bound is None:
            raise ApiError(401, "unknown, already used or expired nonce: request a new one from /api/v1/auth/nonce")
        if bound.lower() != parsed.address.lower():
            raise ApiError(401, "the nonce was issued for another address")
        if int(parsed.chain_id) != self.chain_id:
            raise ApiError(401, f"wrong chain id {parsed.chain_id}: expected {self.chain_id}")
        if parsed.domain != self.domain:
            raise ApiError(401, f"wrong domain {parsed.domain!r}: expected {self.domain!r}")
        if not re.fullmatch(r"(0x)?[0-9a-fA-F]{130}", signature or ""):
            raise ApiError(401, "signature must be 65 bytes of hex")
        try:
            await asyncio.to_thread(parsed.verify, signature, domain=self.domain, nonce=parsed.nonce)
        except siwe.ExpiredMessage as exc:  # type: ignore[attr-defined]
            raise ApiError(401, "the SIWE message has expired") from exc
        except siwe.NotYetValidMessage as exc:  # type: ignore[attr-defined]
            raise ApiError(401, "the SIWE message is not valid yet") from exc
        except Exception as exc:  # noqa: BLE001 - InvalidSignature and friends
            raise ApiError(401, "the signature does not match the message's address") from exc
        return checksum_address(parsed.address)
