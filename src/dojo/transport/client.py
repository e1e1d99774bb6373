"""Client side of the signed transport: one signed request to one miner, or to many at once.

``SignedClient`` keeps pooled keep-alive connections (:mod:`dojo.transport.pools`, idle ones
kept per miner address and reused), signs the exact bytes it sends with the
hotkey (``btauth/1``, bound to the receiving miner's hotkey, fresh nonce per request) and turns
every failure into a typed ``TransportError``. ``fan_out`` runs one call per target under a
concurrency bound, each with its own deadline, so a slow or dead miner costs only its timeout::

    async with SignedClient(wallet.hotkey, timeout=5.0) as client:
        replies = await client.fan_out(targets, "/v1/heartbeat", {}, HeartbeatReply)
        # {hotkey: HeartbeatReply | Timeout | Unreachable | Rejected | BadReply}
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, Union

import httpx
from bittensor import http_auth
from pydantic import BaseModel, ValidationError

from dojo import __version__
from dojo.errors import BadReply, Rejected, Timeout, TransportError, Unreachable
from dojo.logs import log
from dojo.transport.pools import (
    BadRequest,
    ConnectFailed,
    ConnectionLost,
    InvalidReply,
    MinerConnections,
    ReplyTooLarge,
)

if TYPE_CHECKING:
    from bittensor.sp_core import Keypair

    from dojo.config import Settings

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
Body = Union[BaseModel, Mapping[str, Any]]

DEFAULT_MAX_REPLY_BYTES = 16 * 1024 * 1024
#: The caller's Dojo release, sent with every request so the receiver can tell it runs older code.
VERSION_HEADER = "x-dojo-version"
_SR25519 = 1  # bittensor's crypto_type for sr25519 (bittensor.wallets.CRYPTO_TYPE_NAMES)
_DETAIL_CHARS = 300
_USER_AGENT = f"dojo/{__version__}"
_MAX_ADDRESSES = 4096  # parsed addresses kept (a few per miner; cleared when full)
_PLAIN_PATH = re.compile(r"(/[A-Za-z0-9_-]+)+")


@dataclass(frozen=True)
class Target:
    """One miner to call: its hotkey (the signature's receiver), its base address and its uid."""

    hotkey: str
    address: str
    uid: int


def encode_body(body: Body) -> bytes:
    """The JSON bytes sent (and signed) for ``body``: a model's JSON, or a compact JSON object."""
    if isinstance(body, BaseModel):
        return body.model_dump_json().encode()
    return json.dumps(body, separators=(",", ":"), default=str).encode()


class _Nonces:
    """Nanosecond nonces that never repeat within this process, even when two calls share a tick."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return self._last


class SignedClient:
    """Signed JSON POSTs to miners over one pooled connection set; an async context manager."""

    def __init__(
        self,
        keypair: Keypair,
        timeout: float,
        max_concurrency: int = 256,
        *,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        connections: MinerConnections | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.keypair = keypair
        self.hotkey: str = keypair.ss58_address
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self.max_reply_bytes = max_reply_bytes
        self._nonces = _Nonces()
        self._slots = asyncio.Semaphore(max_concurrency)
        # aiohttp, not httpx: at a thousand requests per round httpx's layers cost more CPU than the
        # requests (see dojo.transport.pools). No redirects are followed, no proxy is read from the
        # environment and no cookie is kept: miners are reached directly, and one miner cannot
        # plant anything that is sent to another.
        #: the pooled connections (``opened`` counts those made so far)
        self.connections = connections if connections is not None else MinerConnections()
        self._bases: dict[str, httpx.URL] = {}  # parsed miner addresses

    @classmethod
    def from_settings(cls, settings: Settings, keypair: Keypair) -> SignedClient:
        """A client with the configured timeout (the profile's unless overridden) and concurrency."""
        timeout = settings.transport.request_timeout_s or settings.timings.request_timeout_s
        return cls(
            keypair, timeout, settings.transport.max_concurrency, max_reply_bytes=settings.transport.max_body_bytes
        )

    async def __aenter__(self) -> SignedClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self.connections.aclose()

    def auth_headers(self, method: str, target: str, body: bytes, receiver_hotkey: str) -> dict[str, str]:
        """The ``btauth/1`` headers for exactly these bytes, bound to ``receiver_hotkey``, with a fresh nonce."""
        nonce = self._nonces.next()
        if getattr(self.keypair, "crypto_type", None) != _SR25519:
            return http_auth.sign(
                self.keypair, method=method, path=target, body=body, receiver_ss58=receiver_hotkey, nonce_ns=nonce
            )
        # The same headers http_auth.sign builds for an sr25519 keypair, without re-resolving the
        # signer on every call (a runtime protocol check that costs a third of the signing time).
        payload = http_auth.build_payload(
            scheme="sr25519",
            method=method,
            path=target,
            body=body,
            nonce_ns=nonce,
            sender_ss58=self.hotkey,
            receiver_ss58=receiver_hotkey,
        )
        return {
            http_auth.HEADER_VERSION: http_auth.VERSION,
            http_auth.HEADER_HOTKEY: self.hotkey,
            http_auth.HEADER_NONCE: str(nonce),
            http_auth.HEADER_SIGNATURE: "0x" + bytes(self.keypair.sign(payload)).hex(),
            http_auth.HEADER_RECEIVER: receiver_hotkey,
        }

    async def post(self, address: str, receiver_hotkey: str, path: str, body: Body, reply_model: type[M]) -> M:
        """POST ``body`` signed to ``address + path``; the reply parsed as ``reply_model``.

        Raises ``Timeout``, ``Unreachable``, ``Rejected(status, detail)`` or ``BadReply``.
        """
        return await self._call(address, receiver_hotkey, path, encode_body(body), reply_model)

    async def fan_out(
        self,
        targets: list[Target],
        path: str,
        body: Body | Callable[[Target], Body],
        reply_model: type[M],
    ) -> dict[str, M | TransportError]:
        """One signed POST per target at once; ``{hotkey: reply or TransportError}``.

        ``body`` is one body for all (encoded once) or a function giving each target its own.
        Each call has its own timeout; none waits for another beyond the concurrency bound.
        """
        if len({t.hotkey for t in targets}) != len(targets):
            raise ValueError("fan_out targets must have distinct hotkeys (results are keyed by hotkey)")
        # Encode every body before the first byte is sent: a body that cannot be encoded is the
        # caller's bug and is raised here, not half-way through the fan-out.
        if callable(body):
            raws = [encode_body(body(t)) for t in targets]
        else:
            raws = [encode_body(body)] * len(targets)

        async def one(target: Target, raw: bytes) -> M | TransportError:
            try:
                return await self._call(target.address, target.hotkey, path, raw, reply_model)
            except TransportError as exc:
                return exc

        results = await asyncio.gather(*(one(t, raw) for t, raw in zip(targets, raws, strict=True)))
        return {t.hotkey: r for t, r in zip(targets, results, strict=True)}

    async def _call(self, address: str, receiver: str, path: str, raw: bytes, reply_model: type[M]) -> M:
        where = {"hotkey": receiver, "address": address}
        async with self._slots:  # the timeout starts once a slot is ours: queueing is not the miner's fault
            try:
                return await _within(self.timeout, self._exchange(address, receiver, path, raw, reply_model))
            except asyncio.TimeoutError:
                err: TransportError = Timeout(f"no reply within {self.timeout:g}s", **where)
            except ConnectFailed as exc:
                err = Unreachable(f"cannot connect: {exc}", **where)
            except ConnectionLost as exc:  # closed before any reply: like a miner that went away
                err = Unreachable(f"{exc}", **where)
            except InvalidReply as exc:
                err = BadReply(f"invalid HTTP reply: {exc}", **where)
            except ReplyTooLarge as exc:
                err = BadReply(str(exc), **where)
            except BadRequest as exc:
                err = Unreachable(f"cannot address {address!r}: {exc}", **where)
            except httpx.InvalidURL as exc:
                err = Unreachable(f"invalid address {address!r}: {exc}", **where)
            except TransportError as exc:
                err = exc
        log(logger, "transport.call_failed", logging.DEBUG, kind=err.kind, path=path, error=str(err), **where)
        raise err

    def _target(self, address: str, path: str) -> tuple[httpx.URL, str]:
        """The URL of ``address`` (its origin) and the request target of ``address + path``, as sent.

        An address is parsed once; a plain path (letters, digits, ``-``, ``_``, ``/``: every path of
        the protocol) is appended to its path as it is, the rest parsed with it (percent-encoded).
        """
        base = self._bases.get(address)
        if base is None:
            if len(self._bases) >= _MAX_ADDRESSES:
                self._bases.clear()
            base = self._bases[address] = httpx.URL(address.rstrip("/"))
        if _PLAIN_PATH.fullmatch(path) and not base.query and not base.fragment:
            return base, base.raw_path.decode("ascii").rstrip("/") + path
        url = httpx.URL(address.rstrip("/") + path)
        return url, url.raw_path.decode("ascii")

    async def _exchange(self, address: str, receiver: str, path: str, raw: bytes, reply_model: type[M]) -> M:
        where = {"hotkey": receiver, "address": address}
        url, target = self._target(address, path)
        # Sign the request target exactly as it goes on the wire (percent-encoding included).
        headers = self.auth_headers("POST", target, raw, receiver)
        headers["content-type"] = "application/json"
        headers[VERSION_HEADER] = __version__  # advisory (not signed): lets a miner see it runs older code
        headers["user-agent"] = _USER_AGENT  # some proxies in front of miners refuse requests without one
        status, data = await self.connections.post(url, headers, raw, self.max_reply_bytes, target)
        if not 200 <= status < 300:
            raise Rejected(status, _detail(data), **where)
        try:
            return reply_model.model_validate_json(data)
        except ValidationError as exc:
            errors = exc.errors()
            loc = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
            reason = (f"{loc}: " if loc else "") + (errors[0]["msg"] if errors else str(exc))
            raise BadReply(
                f"reply is not a valid {reply_model.__name__} ({exc.error_count()} errors; {reason})", **where
            ) from None


async def _within(seconds: float, call: Coroutine[Any, Any, M]) -> M:
    """Await ``call`` with an overall deadline (``asyncio.timeout`` when available: no extra task)."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await call
    return await asyncio.wait_for(call, seconds)


def _detail(data: bytes) -> str:
    """The reason a miner gave: FastAPI's ``{"detail": ...}`` when present, else the start of the body."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return data[:_DETAIL_CHARS].decode("utf-8", "replace") or "(empty body)"
    if isinstance(parsed, dict) and "detail" in parsed:
        detail = parsed["detail"]
        return (detail if isinstance(detail, str) else json.dumps(detail))[:_DETAIL_CHARS]
    return json.dumps(parsed)[:_DETAIL_CHARS]
