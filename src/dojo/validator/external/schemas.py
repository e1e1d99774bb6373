"""What the external-task API takes and answers, typed: the task, a batch of tasks, and every reply."""

from __future__ import annotations

from typing import Any, Literal

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from dojo import protocol
from dojo.http_errors import DetailReply

#: The most tasks one batch request may carry.
MAX_BATCH = 500
#: A request's states, in the order it moves through them.
STATES = ("queued", "dispatched", "done", "failed")
State = Literal["queued", "dispatched", "done", "failed"]


#: A task to be judged by people, as the wire defines it (the client sends the same model).
ExternalTaskIn = protocol.ExternalTask


class BatchIn(protocol.Strict):
    """Up to :data:`MAX_BATCH` tasks; each is checked on its own, so a bad one never stops the rest."""

    tasks: list[Any] = Field(min_length=1, max_length=MAX_BATCH)


class Submitted(BaseModel):
    """A queued request: its id, the consumer's id, its state, and whether this call created it."""

    id: str
    client_id: str | None
    state: State
    created: bool


class Accepted(Submitted):
    """One task of a batch that was queued (or was already, under its client_id)."""

    index: int  # the task's position in the batch, from 0


class Refused(BaseModel):
    """One task of a batch that was not queued: its position, the field at fault, and why."""

    index: int
    field: str  # the field path (``responses.1.content``), or ``(task)`` for the task as a whole
    error: str  # ``field: what was wrong``


class BatchReply(BaseModel):
    """One result per task of the batch, in its order."""

    results: list[Accepted | Refused]


class Status(BaseModel):
    """One request: its state and, once done, its result (aggregate scores, agreement, labellers)."""

    id: str
    client_id: str | None
    state: State
    created_at: str
    updated_at: str
    result: dict[str, Any] | None


class LabellerValues(BaseModel):
    """One labeller's raw values for a task, under a stable pseudonym."""

    labeller: str
    values: dict[str, float]


class Item(Status):
    """A request with its task and every labeller's values (the listing)."""

    prompt: str
    criteria: dict[str, Any]
    responses: list[dict[str, Any]]
    labels: list[LabellerValues]


class Page(BaseModel):
    """A page of requests in id order; ``next`` is the ``after`` of the next page, or null at the end."""

    items: list[Item]
    next: str | None


class Summary(BaseModel):
    """Requests by state, the completion rate over the window, and the ETA of what is pending."""

    counts: dict[str, int]
    total: int
    pending: int
    window_s: float
    finished_in_window: int
    rate_per_s: float
    eta_s: float | None


class Health(BaseModel):
    status: str


#: Every error this API answers, ``{"detail": "what was wrong and what was expected"}``.
ErrorReply = DetailReply


#: The error replies every operation may send, documented in the shape they are sent.
ERROR_REPLIES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorReply, "description": "The body could not be parsed (not JSON, or not UTF-8)"},
    401: {"model": ErrorReply, "description": "Missing or wrong bearer token"},
    413: {"model": ErrorReply, "description": "The body is larger than the API accepts"},
    422: {"model": ErrorReply, "description": "The input is not valid: each problem as `field: message`"},
}


def _loc(err: Any) -> str:
    return ".".join(str(p) for p in err.get("loc", ())) or "(task)"


def request_problems(exc: RequestValidationError) -> str:
    """A request that does not validate, in the words this API documents: ``body.field: message; …``."""
    return "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()[:10])


def validation_message(exc: ValidationError) -> str:
    """Each error as ``field.path: what was wrong``."""
    return "; ".join(f"{_loc(e)}: {e.get('msg')}" for e in exc.errors()[:10])


def first_field(exc: ValidationError) -> str:
    """The path of the first field at fault."""
    errors = exc.errors()
    return _loc(errors[0]) if errors else "(task)"
