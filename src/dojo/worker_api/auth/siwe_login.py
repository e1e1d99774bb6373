"""Labeller login by Sign-In with Ethereum (EIP-4361): a server nonce, used once, for one address; the
message must name this instance (domain, URI, chain) and have been issued while the nonce was alive.

With a configured domain (``DOJO_WORKER_SIWE_DOMAIN``) messages must name exactly that domain. Without one,
the domain is the ``host:port`` the request reached (its Host header), as a standard client writes it
(``domain: location.host``), and only a loopback one: a worker API nobody configured answers sign-ins
on this machine only, and a message signed for a public site can never be replayed here."""

from __future__ import annotations

import asyncio
import re
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from dojo.errors import ApiError
from dojo.worker_api.auth.nonces import OneTimeStore

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NONCE_KEY = "siwe:"
# the Host headers an unconfigured worker API accepts sign-ins for: loopback names, with any port
_LOOPBACK_HOST = re.compile(r"(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?", re.IGNORECASE)
CLOCK_SKEW_S = 120  # how far a wallet's clock may differ from ours when it writes "Issued At"


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
    domain: str  # "" = the loopback host:port each request reached (see the module's docstring)
    chain_id: int
    nonce_ttl_s: int

    async def issue_nonce(self, address: str) -> str:
        """A fresh nonce bound to ``address``, valid once for ``nonce_ttl_s`` seconds."""
        siwe = _siwe()
        nonce = siwe.generate_nonce()  # type: ignore[attr-defined]
        await self.store.put(_NONCE_KEY + nonce, f"{checksum_address(address)}\n{time.time():.3f}", self.nonce_ttl_s)
        return str(nonce)

    def domain_for(self, host: str | None) -> str:
        """The domain a message must name when this instance is reached at ``host`` (the Host header).

        A 403 when no domain is configured and ``host`` is not a loopback ``host[:port]``."""
        if self.domain:
            return self.domain
        reached = (host or "").strip().lower()
        if not _LOOPBACK_HOST.fullmatch(reached):
            raise ApiError(
                403,
                f"sign-in is refused at {reached[:100] or 'an address with no Host header'!r}: with no "
                "DOJO_WORKER_SIWE_DOMAIN set, this worker API accepts sign-ins only on loopback (127.0.0.1, "
                "localhost, [::1]); set DOJO_WORKER_SIWE_DOMAIN to the host[:port] labellers open in their browser",
            )
        return reached

    def _check_uri(self, uri: str, domain: str) -> None:
        """The message's URI must point at this instance: http(s), our host, and our port when the domain has one."""
        expected = urlsplit("//" + domain)
        try:
            got = urlsplit(uri)
            port_matches = expected.port is None or got.port == expected.port
        except ValueError:
            got, port_matches = urlsplit(""), False
        if got.scheme not in ("http", "https") or (got.hostname or "") != (expected.hostname or "") or not port_matches:
            raise ApiError(401, f"wrong URI {uri[:200]!r}: expected http(s)://{domain}/… (this worker API)")

    def _check_issued_at(self, issued_at: str, nonce_issued: float) -> None:
        """``Issued At`` must fall within the nonce's life, give or take CLOCK_SKEW_S."""
        try:
            when = datetime.fromisoformat(issued_at.replace("Z", "+00:00"))
            if when.tzinfo is None:
                raise ValueError("no time zone")
        except ValueError as exc:
            raise ApiError(401, f"Issued At {issued_at[:64]!r} is not an RFC 3339 time with a zone") from exc
        earliest, latest = nonce_issued - CLOCK_SKEW_S, time.time() + CLOCK_SKEW_S
        if not earliest <= when.timestamp() <= latest:
            start = datetime.fromtimestamp(nonce_issued, timezone.utc).isoformat(timespec="seconds")
            raise ApiError(
                401,
                f"Issued At {issued_at[:64]} is outside the nonce's life (issued {start}, "
                f"±{CLOCK_SKEW_S} s for clock differences): check this device's clock and sign in again",
            )

    async def verify(self, message: str, signature: str, host: str | None = None) -> str:
        """The signer's checksummed address, or a 401 (403 for an unaccepted ``host``) saying why the login is
        refused. ``host`` is the request's Host header; it matters only when no domain is configured."""
        siwe = _siwe()
        domain = self.domain_for(host)
        try:
            parsed = siwe.SiweMessage.from_message(message)  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - siwe raises several parser errors
            raise ApiError(401, f"not a valid EIP-4361 message: {str(exc)[:200]}") from exc
        bound = await self.store.take(_NONCE_KEY + parsed.nonce)  # consumed whatever happens next
        if bound is None:
            raise ApiError(401, "unknown, already used or expired nonce: request a new one from /api/v1/auth/nonce")
        address, _, issued = bound.partition("\n")
        if address.lower() != parsed.address.lower():
            raise ApiError(401, "the nonce was issued for another address")
        if int(parsed.chain_id) != self.chain_id:
            raise ApiError(401, f"wrong chain id {parsed.chain_id}: expected {self.chain_id}")
        if parsed.domain != domain:
            raise ApiError(401, f"wrong domain {parsed.domain!r}: expected {domain!r}")
        self._check_uri(str(parsed.uri), domain)
        self._check_issued_at(str(parsed.issued_at), float(issued) if issued else time.time() - self.nonce_ttl_s)
        if not re.fullmatch(r"(0x)?[0-9a-fA-F]{130}", signature or ""):
            raise ApiError(401, "signature must be 65 bytes of hex")
        try:
            await asyncio.to_thread(parsed.verify, signature, domain=domain, nonce=parsed.nonce)
        except siwe.ExpiredMessage as exc:  # type: ignore[attr-defined]
            raise ApiError(401, "the SIWE message has expired") from exc
        except siwe.NotYetValidMessage as exc:  # type: ignore[attr-defined]
            raise ApiError(401, "the SIWE message is not valid yet") from exc
        except Exception as exc:  # noqa: BLE001 - InvalidSignature and friends
            raise ApiError(401, "the signature does not match the message's address") from exc
        return checksum_address(parsed.address)
