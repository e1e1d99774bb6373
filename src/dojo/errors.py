"""Every Dojo exception, under one root: ``DojoError``, which each boundary maps to a message (CLI) or a status (HTTP).

Grouped by the part that raises them. A few also derive from ``ValueError`` because callers
(and the standard library's conventions for bad input) catch them as such.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "BadReply",
    "ChainError",
    "ChainUnavailable",
    "ConflictError",
    "DocumentError",
    "DojoError",
    "ExternalApiError",
    "InstanceError",
    "InvalidTransition",
    "LLMError",
    "LabellerError",
    "LadderError",
    "MetagraphUnavailable",
    "NonceStoreUnavailable",
    "NotRegistered",
    "ObfuscationError",
    "OutdatedVersion",
    "RateLimited",
    "Rejected",
    "RowError",
    "Timeout",
    "TransportError",
    "Unreachable",
    "UpdateFailed",
    "WorkerApiBadReply",
    "WorkerApiError",
    "WorkerApiRejected",
    "WorkerApiUnavailable",
]


class DojoError(Exception):
    """A failure with a message fit for the user: what was wrong and what was expected."""


# --- HTTP services (worker API, miner, synthetic API, external-task API) -------------------------


class ApiError(DojoError):
    """A refusal with an HTTP status and a message saying what was wrong and what was expected.

    Raised by handlers and the rules they call; :mod:`dojo.http_errors` turns it into the reply.
    """

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


# --- chain (dojo.chain) ----------------------------------------------------------------------------


class ChainError(DojoError):
    """Any refusal or failure of the chain, with a message fit for a user."""


class NotRegistered(ChainError):
    """The hotkey has no uid on this subnet."""


class RateLimited(ChainError):
    """Weights were set too recently; ``blocks_to_wait`` more blocks must pass."""

    def __init__(self, message: str, blocks_to_wait: int) -> None:
        super().__init__(message)
        self.blocks_to_wait = blocks_to_wait


class ChainUnavailable(ChainError):
    """The chain could not be reached."""


class OutdatedVersion(ChainError):
    """The subnet requires a newer spec version (``weights_version``) than the one sent as ``version_key``."""

    def __init__(self, message: str, required: int, sent: int) -> None:
        super().__init__(message)
        self.required = required
        self.sent = sent


# --- signed transport (dojo.transport): client side ------------------------------------------------


class TransportError(DojoError):
    """A signed call to a miner did not produce a valid reply; names the miner it concerns."""

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


# --- signed transport: server side -----------------------------------------------------------------


class NonceStoreUnavailable(DojoError):
    """The shared nonce store could not be reached; requests must be refused, not let through."""


class MetagraphUnavailable(DojoError):
    """No metagraph snapshot could be read and none is cached."""


# --- the miner's client of its worker API ----------------------------------------------------------


class WorkerApiError(DojoError):
    """Any failure talking to the worker API."""


class WorkerApiUnavailable(WorkerApiError):
    """The worker API could not be reached, timed out, or kept answering 5xx after all retries."""


class WorkerApiRejected(WorkerApiError):
    """The worker API refused the request with a 4xx; ``status`` and ``detail`` say why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"worker API refused the request ({status}): {detail}")
        self.status = status
        self.detail = detail


class WorkerApiBadReply(WorkerApiError):
    """The worker API answered with something that is not the expected envelope."""


# --- synthetic tasks (dojo.synthetic) --------------------------------------------------------------


class LadderError(DojoError, ValueError):
    """A task whose features cannot carry the ladder (too few to swap, nothing to drift or break)."""


class DocumentError(DojoError, ValueError):
    """Why a document was refused; the message names the first problem found."""


class InstanceError(DojoError):
    """A task that cannot be turned into per-miner instances (its generator left no template)."""


class LLMError(DojoError):
    """The endpoint could not produce a usable task (after retries, repair and dropping)."""


class ObfuscationError(DojoError):
    """The JavaScript toolchain failed on a document (not a syntax error in it: those are kept as is)."""


# --- validator -------------------------------------------------------------------------------------


class InvalidTransition(DojoError):
    """A state change the machine does not allow."""


class ConflictError(DojoError, ValueError):
    """A client_id already names a different task (external-task API)."""


# --- the external-task API's client (dojo.client) --------------------------------------------------


class ExternalApiError(DojoError):
    """The validator's external-task API refused a request or could not be reached."""


class RowError(DojoError, ValueError):
    """A row of the input that is not a task: says which row and which field."""

    def __init__(self, row: int, message: str) -> None:
        super().__init__(f"row {row}: {message}")
        self.row, self.message = row, message


# --- tools: the local network's simulated labellers, the updater ------------------------------------


class LabellerError(DojoError):
    """The worker API refused a simulated labeller's call."""


class UpdateFailed(DojoError):
    """A step of the update failed; the update was rolled back."""
