"""Typed failures of one signed call to one miner (client side).

Every error names the miner it concerns, so a fan-out can return one per hotkey and the caller
can log or score each without parsing messages.
"""

from __future__ import annotations

from dojo.errors import DojoError


class TransportError(DojoError):
    """A signed call to a miner did not produce a valid reply."""

    def __init__(self, message: str, *, hotkey: str = "", address: str = "") -> None:
        super().__init__(message)
        self.hotkey = hotkey
        self.address = address

    @property
    def kind(self) -> str:
        """A short, stable name for logs and metrics: ``timeout``, ``unreachable``, ``rejected``, ``bad_reply``."""
        return _KINDS.get(type(self), "error")


class Timeout(TransportError):
    """No complete reply within the per-call timeout."""


class Unreachable(TransportError):
    """No connection could be made (nothing listening, refused, unroutable)."""


class Rejected(TransportError):
    """The miner answered with a non-2xx status; ``detail`` is its stated reason."""

    def __init__(self, status: int, detail: str, *, hotkey: str = "", address: str = "") -> None:
        super().__init__(f"rejected with HTTP {status}: {detail}", hotkey=hotkey, address=address)
        self.status = status
        self.detail = detail


class BadReply(TransportError):
    """The miner answered, but not with valid HTTP or with a body that does not fit the reply model."""


_KINDS: dict[type, str] = {Timeout: "timeout", Unreachable: "unreachable", Rejected: "rejected", BadReply: "bad_reply"}
