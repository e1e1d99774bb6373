"""What the client sends and gets back, typed; and turning a consumer's row into a task."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from dojo import protocol
from dojo.errors import RowError

#: completion ids made from a consumer id are stable, so a re-run sends the very same task
_NAMESPACE = uuid.UUID("6f1d2c1e-8f0a-4c8e-9a55-2f3d7b1c0d14")


#: One external task: a prompt, 2–16 responses (HTML documents), the criteria, the consumer's own id
#: (the wire model the validator's external-task API takes).
TaskIn = protocol.ExternalTask


@dataclass
class Submitted:
    """The validator's answer to one submitted task."""

    id: str
    state: str
    created: bool
    client_id: str | None = None


@dataclass
class BulkReport:
    """What a bulk submit did: new requests, ones already known (by client id), rows refused and why."""

    created: int = 0
    existing: int = 0
    errors: list[RowError] = field(default_factory=list)
    ids: dict[int, str] = field(default_factory=dict)  # row -> request id

    @property
    def accepted(self) -> int:
        return self.created + self.existing


def _criteria(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, dict):  # a Parquet struct carries min/max as null for a ranking
        value = {k: v for k, v in value.items() if v is not None}
    return value


def task_from_row(row: int, data: dict[str, Any]) -> TaskIn:
    """A consumer's row as a task. Accepts ``prompt``; ``responses`` as strings or
    ``{content, completion_id?}``; optional ``criteria`` (object or JSON text); the consumer's own id
    as ``client_id`` or ``id``. Raises :class:`RowError` naming the row and the field."""
    if not isinstance(data, dict):
        raise RowError(row, f"expected an object with prompt and responses, got {type(data).__name__}")
    cid = data.get("client_id", data.get("id"))
    client_id = None if cid is None else str(cid)
    responses = data.get("responses")
    if isinstance(responses, list):
        norm = []
        for k, r in enumerate(responses):
            r = {"content": r} if isinstance(r, str) else r
            if isinstance(r, dict) and not r.get("completion_id"):
                made = uuid.uuid5(_NAMESPACE, f"{client_id}:{k}") if client_id is not None else uuid.uuid4()
                r = {**r, "completion_id": str(made)}
            norm.append(r)
        responses = norm
    body: dict[str, Any] = {"prompt": data.get("prompt"), "responses": responses, "client_id": client_id}
    try:
        crit = _criteria(data.get("criteria"))
    except json.JSONDecodeError as exc:
        raise RowError(row, f"criteria: not JSON ({exc.msg})") from None
    if crit is not None:
        body["criteria"] = crit
    unknown = set(data) - {"prompt", "responses", "criteria", "client_id", "id"}
    if unknown:
        raise RowError(row, f"{sorted(unknown)[0]}: unknown field (expected prompt, responses, criteria, id)")
    try:
        return TaskIn.model_validate(body)
    except ValidationError as exc:
        raise RowError(row, _message(exc)) from None


def _message(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())) or '(task)'}: {e.get('msg')}" for e in exc.errors()[:5]
    )
