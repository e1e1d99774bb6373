"""External requests (DESIGN §9) in the store: the queue, its look-ups, and how much external work each miner had."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from dojo.protocol import as_criterion
from dojo.validator.store.db import Database
from dojo.validator.store.models import Assignment, ExternalRequest, Task, utcnow
from dojo.validator.store.records import ExternalAdded, ExternalRequestView, NewExternalRequest, NewTask

#: PostgreSQL advisory lock held by each transaction that adds external requests: a client_id looked up as
#: unknown stays unknown until the insert (READ COMMITTED would let two batches both insert it).
_ADD_EXTERNAL_LOCK = 0x646F6A6F_6578  # "dojo" "ex"


class ExternalSteps(Database):
    """The external-task requests: queue, look-ups and per-miner load."""

    def external_load(self, first_round: int) -> dict[str, tuple[int, int]]:
        """Per hotkey, its ``(tasks, external tasks)`` in rounds from ``first_round`` on (the external cap's window)."""
        is_external = sa.case((Task.source == "external", 1), else_=0)
        with self.transaction() as s:
            rows = s.execute(
                sa.select(Assignment.hotkey, sa.func.count(), sa.func.coalesce(sa.func.sum(is_external), 0))
                .join(Task, Task.id == Assignment.task_id)
                .where(Task.round_id >= first_round)
                .group_by(Assignment.hotkey)
            ).all()
            return {str(hk): (int(n), int(ext)) for hk, n, ext in rows}

    def external_queue(self) -> dict[str, Any]:
        """External-task requests by state, and when the oldest still queued came in."""
        with self.transaction() as s:
            rows = s.execute(sa.select(ExternalRequest.state, sa.func.count()).group_by(ExternalRequest.state)).all()
            oldest = s.scalar(
                sa.select(sa.func.min(ExternalRequest.created_at)).where(ExternalRequest.state == "queued")
            )
        return {"states": {str(state): int(n) for state, n in rows}, "oldest_queued_at": oldest}

    def add_external_requests(self, requests: list[NewExternalRequest]) -> list[ExternalAdded]:
        """Queue ``requests`` in one transaction; what became of each, in order.

        A ``client_id`` already known (stored, or earlier in ``requests``) gives that request, queued
        again if it had failed (nobody took it); with another prompt or other responses it is a
        conflict, and nothing is written for it.
        """
        for attempt in range(3):
            try:
                with self.transaction() as s:
                    if self.engine.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already serialises
                        s.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADD_EXTERNAL_LOCK})
                    return _add_external(s, requests)
            except IntegrityError:  # a writer that skipped the lock stored one of these client_ids first
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def external_counts(self, window_s: float) -> tuple[dict[str, int], int]:
        """Requests by state, and how many finished (done or failed) in the last ``window_s`` seconds (one snapshot)."""
        finished_since = utcnow() - timedelta(seconds=window_s)
        with self.transaction() as s:
            rows = s.execute(sa.select(ExternalRequest.state, sa.func.count()).group_by(ExternalRequest.state)).all()
            finished = s.scalar(
                sa.select(sa.func.count()).where(
                    ExternalRequest.state.in_(("done", "failed")), ExternalRequest.updated_at >= finished_since
                )
            )
        return {str(state): int(n) for state, n in rows}, int(finished or 0)

    def external_request(self, request_id: str) -> ExternalRequestView | None:
        """One request (without its labels), or None when there is no such request."""
        with self.transaction() as s:
            req = s.get(ExternalRequest, request_id)
            return None if req is None else _request_view(req)

    def external_page(self, state: str | None, after: str | None, limit: int) -> list[ExternalRequestView]:
        """Up to ``limit`` requests in id order after ``after`` (in ``state``), each with every labeller's values."""
        with self.transaction() as s:
            q = sa.select(ExternalRequest).order_by(ExternalRequest.id).limit(limit)
            if state is not None:
                q = q.where(ExternalRequest.state == state)
            if after is not None:
                q = q.where(ExternalRequest.id > after)
            reqs = s.scalars(q).all()
            labels: dict[str, list[tuple[str, str, dict[str, float]]]] = {r.id: [] for r in reqs}
            if reqs:
                tasks = s.scalars(
                    sa.select(Task)
                    .where(Task.external_id.in_(list(labels)))
                    .options(selectinload(Task.assignments).selectinload(Assignment.results))
                ).all()
                for t in tasks:
                    for a in t.assignments:
                        per: dict[str, dict[str, float]] = {}
                        for r in a.results:
                            per.setdefault(r.labeller_id, {})[r.completion_id] = r.value
                        labels[str(t.external_id)].extend((a.hotkey, lab, values) for lab, values in per.items())
            return [_request_view(r, labels[r.id]) for r in reqs]

    def queued_external(self, n: int) -> list[NewTask]:
        """Up to ``n`` queued requests as new tasks, oldest first; they stay queued until a round holding them is stored."""
        with self.transaction() as s:
            reqs = s.scalars(
                sa.select(ExternalRequest)
                .where(ExternalRequest.state == "queued")
                .order_by(ExternalRequest.created_at, ExternalRequest.id)
                .limit(n)
            ).all()
            return [
                NewTask(
                    id=str(uuid.uuid4()),
                    prompt=r.prompt,
                    criteria=as_criterion(r.criteria),
                    responses=[{**x, "model": "external"} for x in r.responses],
                    ground_truth=None,
                    source="external",
                    external_id=r.id,
                )
                for r in reqs
            ]


def _request_view(
    req: ExternalRequest, labels: list[tuple[str, str, dict[str, float]]] | None = None
) -> ExternalRequestView:
    return ExternalRequestView(
        id=req.id,
        client_id=req.client_id,
        state=req.state,
        created_at=req.created_at,
        updated_at=req.updated_at,
        prompt=req.prompt,
        criteria=dict(req.criteria),
        responses=list(req.responses),
        result=req.result,
        labels=list(labels or []),
    )


@dataclass
class _Known:
    """A request a client_id already names: what the conflict check and the reply need."""

    id: str
    state: str
    content: tuple[str, list[tuple[str, str]]]  # the prompt, and (completion id, content) per response


def _content(prompt: str, responses: list[dict[str, Any]]) -> tuple[str, list[tuple[str, str]]]:
    return prompt, [(str(r["completion_id"]), r["content"]) for r in responses]


def _add_external(s: Session, requests: list[NewExternalRequest]) -> list[ExternalAdded]:
    # Core statements, not ORM objects: a batch is one SELECT per 500 client ids and one multi-row INSERT
    t = ExternalRequest.__table__
    cids = sorted({r.client_id for r in requests if r.client_id is not None})
    known: dict[str, _Known] = {}
    for start in range(0, len(cids), 500):  # bounded IN lists
        rows = s.execute(
            sa.select(t.c.id, t.c.client_id, t.c.state, t.c.prompt, t.c.responses).where(
                t.c.client_id.in_(cids[start : start + 500])
            )
        )
        known.update((cid, _Known(rid, state, _content(p, resp))) for rid, cid, state, p, resp in rows)
    now = utcnow()
    new: list[dict[str, Any]] = []
    requeued: list[str] = []
    out: list[ExternalAdded] = []
    for r in requests:
        found = known.get(r.client_id) if r.client_id is not None else None
        if found is None:
            rid = str(uuid.uuid4())
            new.append(
                {
                    "id": rid,
                    "client_id": r.client_id,
                    "state": "queued",
                    "prompt": r.prompt,
                    "criteria": r.criteria,
                    "responses": r.responses,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if r.client_id is not None:
                known[r.client_id] = _Known(rid, "queued", _content(r.prompt, r.responses))
            out.append(ExternalAdded(rid, r.client_id, "queued", created=True))
        elif found.content != _content(r.prompt, r.responses):
            out.append(ExternalAdded(found.id, r.client_id, found.state, created=False, conflict=True))
        else:
            if found.state == "failed":  # nobody took it: queued again
                requeued.append(found.id)
                found.state = "queued"
            out.append(ExternalAdded(found.id, r.client_id, found.state, created=False))
    if new:
        s.execute(sa.insert(ExternalRequest), new)
    if requeued:
        s.execute(
            sa.update(ExternalRequest)
            .where(ExternalRequest.id.in_(requeued))
            .values(state="queued", updated_at=now, result=None)
        )
    return out
