"""Server side of the signed transport: only validators may call a miner.

``ValidatorGate`` is a FastAPI dependency. It bounds the body size, verifies ``btauth/1`` over
the raw body with ``bittensor.http_auth.verify`` (signature, receiver, freshness, replay), then
checks the authenticated hotkey against a cached metagraph snapshot (validator permit, or stake
at least ``min_stake``). Failures are HTTP errors raised before the handler runs::

    gate = ValidatorGate(my_hotkey, chain.metagraph, min_stake=1000.0)

    @app.post("/v1/heartbeat")
    async def heartbeat(request: Request, caller: str = Depends(gate)) -> HeartbeatReply:
        body = await request.body()   # the exact bytes that were verified
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bittensor import http_auth
from fastapi import HTTPException, Request

from dojo.chain.base import Metagraph, Neuron
from dojo.errors import MetagraphUnavailable, NonceStoreUnavailable
from dojo.logs import log
from dojo.transport.allowlist import MetagraphCache
from dojo.transport.nonces import AsyncNonceStore, NonceStore, make_nonce_store

if TYPE_CHECKING:
    from dojo.config import Settings

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: Seconds a caller is told to wait (Retry-After) when the gate cannot check a request right now (503).
RETRY_AFTER_S = 5

_AUTH_KIND: dict[type, str] = {
    http_auth.MalformedAuth: "malformed or missing signature headers",
    http_auth.WrongReceiver: "wrong receiver",
    http_auth.StaleRequest: "stale request",
    http_auth.BadSignature: "bad signature",
    http_auth.ReplayedRequest: "replayed request",
}


class _Captured:
    """Stands in for an async nonce store during the synchronous ``verify`` call.

    ``verify`` consults its store only after the signature checks out; the pair is remembered
    here and then checked against the real store with ``await``, off the blocking path.
    """

    def __init__(self, retention: float | None) -> None:
        if retention is not None:
            self.retention = retention
        self.pair: tuple[str, int] | None = None

    def check_and_store(self, hotkey_ss58: str, nonce_ns: int) -> bool:
        self.pair = (hotkey_ss58, nonce_ns)
        return True


def request_target(request: Request) -> str:
    """The request target exactly as the client sent it: raw path plus ``?query`` (what was signed)."""
    scope = request.scope
    raw = scope.get("raw_path") or request.url.path.encode()
    target = raw.decode("latin-1")
    if "?" not in target and scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    return target


class ValidatorGate:
    """FastAPI dependency admitting only signed requests from validators; returns the caller's hotkey.

    401: unsigned, malformed, bad signature, tampered body, stale, replayed, wrong receiver.
    403: signer not registered, or registered without validator permit and below ``min_stake``.
    411/400/413: body length missing, invalid or above ``max_body_bytes``.
    503: no metagraph snapshot or no nonce store could be read (fails closed).
    The verified caller's ``Neuron`` is left on ``request.state.caller_neuron``.
    """

    def __init__(
        self,
        self_hotkey: str,
        metagraph: Callable[[], Metagraph],
        min_stake: float,
        nonce_store: NonceStore | None = None,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        cache_ttl_s: float = 12.0,
        miss_refresh_s: float = 2.0,
        max_age_s: float = http_auth.DEFAULT_MAX_AGE,
        allowed_skew_s: float = http_auth.DEFAULT_ALLOWED_SKEW,
    ) -> None:
        self.self_hotkey = self_hotkey
        self.min_stake = min_stake
        self.nonce_store: NonceStore = nonce_store if nonce_store is not None else make_nonce_store(None)
        self.max_body_bytes = max_body_bytes
        self.max_age_s = max_age_s
        self.allowed_skew_s = allowed_skew_s
        retention = getattr(self.nonce_store, "retention", None)
        if retention is not None and retention < max_age_s + allowed_skew_s:
            # verify() would refuse every request at run time; say so now instead.
            raise ValueError(
                f"nonce store keeps nonces {retention:g}s, shorter than the freshness window "
                f"{max_age_s + allowed_skew_s:g}s (max_age_s + allowed_skew_s)"
            )
        self.metagraph = MetagraphCache(metagraph, ttl_s=cache_ttl_s, miss_refresh_s=miss_refresh_s)
        # A store with an async check (Redis) is consulted with await, never inside the sync verify().
        self._async_store = self.nonce_store if isinstance(self.nonce_store, AsyncNonceStore) else None

    @classmethod
    def from_settings(cls, settings: Settings, self_hotkey: str, metagraph: Callable[[], Metagraph]) -> ValidatorGate:
        """A gate configured from the settings tree (min stake, Redis nonce store, body limit, cache TTL)."""
        return cls(
            self_hotkey,
            metagraph,
            min_stake=settings.chain.min_validator_stake,
            nonce_store=make_nonce_store(settings.redis_url, settings.transport.nonce_prefix),
            max_body_bytes=settings.transport.max_body_bytes,
            cache_ttl_s=settings.transport.metagraph_cache_s,
        )

    async def __call__(self, request: Request) -> str:
        body = await self._read_body(request)
        hotkey = await self._authenticate(request, body)
        neuron = await self._authorize(hotkey)
        request.state.caller_neuron = neuron
        return hotkey

    def _reject(self, status: int, reason: str, request: Request, hotkey: str | None = None) -> HTTPException:
        log(
            logger,
            "transport.rejected",
            status=status,
            reason=reason,
            path=request.url.path,
            hotkey=(hotkey or request.headers.get(http_auth.HEADER_HOTKEY, "-"))[:64],  # unauthenticated input
        )
        headers = {"WWW-Authenticate": http_auth.PROTOCOL} if status == 401 else None
        if status == 503:
            headers = {"Retry-After": str(RETRY_AFTER_S)}
        return HTTPException(status_code=status, detail=reason, headers=headers)

    async def _read_body(self, request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is None:
            if "chunked" in request.headers.get("transfer-encoding", "").lower():
                raise self._reject(411, "a Content-Length header is required", request)
        else:
            if not length.isdigit():
                raise self._reject(400, f"invalid Content-Length {length[:32]!r}", request)
            if int(length) > self.max_body_bytes:
                raise self._reject(
                    413, f"body of {int(length)} bytes exceeds the limit of {self.max_body_bytes} bytes", request
                )
        # The server reads exactly Content-Length bytes, so this read is bounded by the check above.
        return await request.body()

    async def _authenticate(self, request: Request, body: bytes) -> str:
        store = self._async_store
        verify_store = self.nonce_store if store is None else _Captured(getattr(store, "retention", None))
        try:
            caller = http_auth.verify(
                request.headers,
                body,
                method=request.method,
                path=request_target(request),
                self_hotkey_ss58=self.self_hotkey,
                max_age=self.max_age_s,
                allowed_skew=self.allowed_skew_s,
                nonce_store=verify_store,
            )
            if store is not None and not await store.acheck_and_store(caller.hotkey_ss58, caller.nonce_ns):
                raise http_auth.ReplayedRequest("this nonce was already accepted from this hotkey")
        except http_auth.AuthError as exc:
            kind = _AUTH_KIND.get(type(exc), "authentication failed")
            if isinstance(exc, http_auth.MalformedAuth) and http_auth.HEADER_SIGNATURE not in request.headers:
                kind = f"unsigned request (expected {http_auth.PROTOCOL} headers)"
            raise self._reject(401, f"{kind}: {exc}", request) from None
        except NonceStoreUnavailable as exc:
            raise self._reject(503, f"replay protection unavailable: {exc}", request) from None
        return caller.hotkey_ss58

    async def _authorize(self, hotkey: str) -> Neuron:
        try:
            neuron = await self.metagraph.lookup(hotkey)
        except MetagraphUnavailable as exc:
            raise HTTPException(status_code=503, detail=str(exc), headers={"Retry-After": str(RETRY_AFTER_S)}) from None
        if neuron is None:
            snap = self.metagraph.snapshot
            where = f"subnet {snap.netuid} at block {snap.block}" if snap else "the subnet"
            raise self._deny(f"hotkey {hotkey} is not registered on {where}", hotkey)
        if not (neuron.validator_permit or neuron.stake >= self.min_stake):
            raise self._deny(
                f"hotkey {hotkey} (uid {neuron.uid}) is not a validator: no validator permit and "
                f"stake {neuron.stake:g} is below the minimum {self.min_stake:g}",
                hotkey,
            )
        return neuron

    def _deny(self, reason: str, hotkey: str) -> HTTPException:
        log(logger, "transport.denied", status=403, reason=reason, hotkey=hotkey)
        return HTTPException(status_code=403, detail=reason)
