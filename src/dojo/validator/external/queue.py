"""The external-request queue: add tasks (one, or a batch in one transaction), look them up, and hand the
oldest queued ones to a new round."""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import ValidationError

from dojo.errors import ConflictError
from dojo.validator.external.schemas import STATES, ExternalTaskIn, first_field, validation_message
from dojo.validator.store.records import ExternalAdded, NewExternalRequest, NewTask
from dojo.validator.store.repo import ValidatorStore


def _pseudonym(hotkey: str, labeller_id: str) -> str:
    """A stable labeller pseudonym for consumers: people's wallet addresses are not theirs to see."""
    return hashlib.sha256(f"{hotkey}/{labeller_id}".encode()).hexdigest()[:16]


def _request(task: ExternalTaskIn) -> NewExternalRequest:
    ids = [r.completion_id for r in task.responses]
    if len(set(ids)) != len(ids):
        raise ValueError("responses: completion_id values must be unique within a task")
    return NewExternalRequest(
        client_id=task.client_id,
        prompt=task.prompt,
        criteria=task.criteria.model_dump(mode="json"),
        responses=[{"completion_id": str(r.completion_id), "content": r.content} for r in task.responses],
    )


def _outcome(added: ExternalAdded) -> dict[str, Any]:
    if added.conflict:
        raise ConflictError(
            f"client_id: {added.client_id!r} already names another task (request {added.id}); "
            "use a new client_id for new content"
        )
    return {"id": added.id, "client_id": added.client_id, "state": added.state, "created": added.created}


class ExternalQueue:
    """External requests in the store: add, look up, and hand the oldest queued ones to a new round."""

    def __init__(self, store: ValidatorStore) -> None:
        self.store = store

    def add(self, task: ExternalTaskIn) -> str:
        """Queue ``task``; its request id (the existing one when its ``client_id`` was seen before)."""
        return str(self.submit(task)["id"])

    def submit(self, task: ExternalTaskIn) -> dict[str, Any]:
        """Queue ``task`` unless its ``client_id`` is known: ``{id, client_id, state, created}``.

        The same ``client_id`` with the same content is the same request (a failed one — nobody
        took it — is queued again); with other content it is a :class:`ConflictError`.
        """
        return _outcome(self.store.add_external_requests([_request(task)])[0])

    def submit_many(self, tasks: list[ExternalTaskIn]) -> list[dict[str, Any] | ValueError]:
        """Queue ``tasks`` in one transaction: per task, what :meth:`submit` answers, or the error it raises."""
        out: list[dict[str, Any] | ValueError] = []
        requests: list[NewExternalRequest] = []
        slots: list[int] = []
        for task in tasks:
            try:
                requests.append(_request(task))
                slots.append(len(out))
                out.append({})
            except ValueError as exc:
                out.append(exc)
        for slot, added in zip(slots, self.store.add_external_requests(requests) if requests else [], strict=True):
            try:
                out[slot] = _outcome(added)
            except ConflictError as exc:
                out[slot] = exc
        return out

    def submit_batch(self, raw: list[Any]) -> list[dict[str, Any]]:
        """Check each of ``raw`` on its own and queue the valid ones in one transaction.

        One result per item, in order: ``{index, id, client_id, state, created}``, or
        ``{index, field, error}`` naming the field at fault — a bad item never stops the good ones.
        """
        results: list[dict[str, Any]] = [{} for _ in raw]
        valid: list[ExternalTaskIn] = []
        where: list[int] = []
        for i, item in enumerate(raw):
            try:
                valid.append(ExternalTaskIn.model_validate(item))
                where.append(i)
            except ValidationError as exc:
                results[i] = {"index": i, "field": first_field(exc), "error": validation_message(exc)}
        for i, outcome in zip(where, self.submit_many(valid), strict=True):
            if isinstance(outcome, ValueError):
                message = str(outcome)
                results[i] = {"index": i, "field": message.split(":", 1)[0], "error": message}
            else:
                results[i] = {"index": i, **outcome}
        return results

    def summary(self, window_s: float = 900.0) -> dict[str, Any]:
        """Requests by state, the completion rate over the last ``window_s`` seconds, and the ETA it gives."""
        counts, recent = self.store.external_counts(window_s)
        by_state = {st: int(counts.get(st, 0)) for st in STATES}
        pending = by_state["queued"] + by_state["dispatched"]
        rate = (recent or 0) / window_s
        return {
            "counts": by_state,
            "total": sum(by_state.values()),
            "pending": pending,
            "window_s": window_s,
            "finished_in_window": int(recent or 0),
            "rate_per_s": rate,
            "eta_s": (pending / rate) if rate > 0 and pending else (0.0 if not pending else None),
        }

    def page(self, state: str | None, after: str | None, limit: int) -> dict[str, Any]:
        """Requests in id order after ``after``, each with its result and every labeller's raw values."""
        items = [
            {
                "id": r.id,
                "client_id": r.client_id,
                "state": r.state,
                "created_at": r.created_at.isoformat(),
                "updated_at": r.updated_at.isoformat(),
                "prompt": r.prompt,
                "criteria": r.criteria,
                "responses": r.responses,
                "result": r.result,
                "labels": [{"labeller": _pseudonym(hotkey, lab), "values": values} for hotkey, lab, values in r.labels],
            }
            for r in self.store.external_page(state, after, limit)
        ]
        return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}

    def get(self, rid: str) -> dict[str, Any] | None:
        """One request's state and result, or None when there is no such request."""
        req = self.store.external_request(rid)
        if req is None:
            return None
        return {
            "id": req.id,
            "client_id": req.client_id,
            "state": req.state,
            "created_at": req.created_at.isoformat(),
            "updated_at": req.updated_at.isoformat(),
            "result": req.result,
        }

    def take(self, n: int) -> list[NewTask]:
        """Up to ``n`` queued requests as new tasks, oldest first; they stay queued until a round holding them is stored."""
        return self.store.queued_external(n)
