"""External tasks (DESIGN §9): a bearer-token API to submit prompt + responses for human judgement.

Submitted tasks wait in the store (``external_requests``) and are mixed into the next rounds,
where they look like any other task to miners. Unlike synthetic tasks they are shared: each
goes to at least three miners, within the per-miner cap on external work
(:mod:`dojo.validator.external_cap`); a request waits in the queue until a round has room for
it. They are scored by consensus alone. When their round is scored, the request holds the
aggregate of the miners' labels and the labellers' agreement.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from datetime import timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, StringConstraints, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from dojo import protocol
from dojo.config import Settings
from dojo.miner.body_limit import BodyLimit
from dojo.validator.store.models import Assignment, ExternalRequest, Task, utcnow
from dojo.validator.store.records import NewTask
from dojo.validator.store.repo import ValidatorStore


class ExternalTaskIn(protocol.Strict):
    """A task to be judged by people: a prompt, 2–16 responses (HTML documents), the criteria."""

    prompt: Annotated[str, StringConstraints(min_length=1, max_length=protocol.MAX_PROMPT_CHARS)]
    responses: list[protocol.Response] = Field(min_length=protocol.MIN_RESPONSES, max_length=protocol.MAX_RESPONSES)
    criteria: protocol.Criterion = Field(default_factory=lambda: protocol.ScoreCriterion(min=1, max=10))
    #: the consumer's own id for this task; submitting it again returns the first request, never a copy
    client_id: protocol.ShortStr | None = None


MAX_BATCH = 500


class ErrorReply(BaseModel):
    """Every error this API answers: what was wrong and what was expected."""

    detail: str


#: The error replies every operation may send, documented in the shape they are sent.
ERROR_REPLIES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorReply, "description": "The body could not be parsed (not JSON, or not UTF-8)"},
    401: {"model": ErrorReply, "description": "Missing or wrong bearer token"},
    413: {"model": ErrorReply, "description": "The body is larger than the API accepts"},
    422: {"model": ErrorReply, "description": "The input is not valid: each problem as `field: message`"},
}
STATES = ("queued", "dispatched", "done", "failed")


def validation_message(exc: ValidationError) -> str:
    """Each error as ``field.path: what was wrong``."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())) or '(task)'}: {e.get('msg')}" for e in exc.errors()[:10]
    )


def _same_task(req: ExternalRequest, task: ExternalTaskIn) -> bool:
    theirs = [(str(r.completion_id), r.content) for r in task.responses]
    return req.prompt == task.prompt and [(r["completion_id"], r["content"]) for r in req.responses] == theirs


def _pseudonym(hotkey: str, labeller_id: str) -> str:
    """A stable labeller pseudonym for consumers: people's wallet addresses are not theirs to see."""
    return hashlib.sha256(f"{hotkey}/{labeller_id}".encode()).hexdigest()[:16]


class ConflictError(ValueError):
    """A client_id already names a different task."""


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
        ids = [r.completion_id for r in task.responses]
        if len(set(ids)) != len(ids):
            raise ValueError("responses: completion_id values must be unique within a task")
        if task.client_id is not None:
            found = self._by_client_id(task)
            if found is not None:
                return found
        now = utcnow()
        rid = str(uuid.uuid4())
        try:
            with self.store.transaction() as s:
                s.add(
                    ExternalRequest(
                        id=rid,
                        client_id=task.client_id,
                        state="queued",
                        prompt=task.prompt,
                        criteria=task.criteria.model_dump(mode="json"),
                        responses=[
                            {"completion_id": str(r.completion_id), "content": r.content} for r in task.responses
                        ],
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:  # the same client_id submitted concurrently: the first one stands
            found = self._by_client_id(task)
            if found is None:
                raise
            return found
        return {"id": rid, "client_id": task.client_id, "state": "queued", "created": True}

    def _by_client_id(self, task: ExternalTaskIn) -> dict[str, Any] | None:
        with self.store.transaction() as s:
            req = s.scalar(sa.select(ExternalRequest).where(ExternalRequest.client_id == task.client_id))
            if req is None:
                return None
            if not _same_task(req, task):
                raise ConflictError(
                    f"client_id: {task.client_id!r} already names another task (request {req.id}); "
                    "use a new client_id for new content"
                )
            if req.state == "failed":
                req.state, req.updated_at, req.result = "queued", utcnow(), None
            return {"id": req.id, "client_id": req.client_id, "state": req.state, "created": False}

    def summary(self, window_s: float = 900.0) -> dict[str, Any]:
        """Requests by state, the completion rate over the last ``window_s`` seconds, and the ETA it gives."""
        now = utcnow()
        with self.store.transaction() as s:
            counts = dict(
                s.execute(sa.select(ExternalRequest.state, sa.func.count()).group_by(ExternalRequest.state)).all()
            )
            recent = s.scalar(
                sa.select(sa.func.count()).where(
                    ExternalRequest.state.in_(("done", "failed")),
                    ExternalRequest.updated_at >= now - timedelta(seconds=window_s),
                )
            )
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
        with self.store.transaction() as s:
            q = sa.select(ExternalRequest).order_by(ExternalRequest.id).limit(limit)
            if state is not None:
                q = q.where(ExternalRequest.state == state)
            if after is not None:
                q = q.where(ExternalRequest.id > after)
            reqs = s.scalars(q).all()
            labels: dict[str, list[dict[str, Any]]] = {r.id: [] for r in reqs}
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
                        for lab, values in per.items():
                            labels[str(t.external_id)].append({"labeller": _pseudonym(a.hotkey, lab), "values": values})
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
                    "labels": labels[r.id],
                }
                for r in reqs
            ]
        return {"items": items, "next": items[-1]["id"] if len(items) == limit else None}

    def get(self, rid: str) -> dict[str, Any] | None:
        with self.store.transaction() as s:
            req = s.get(ExternalRequest, rid)
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
        with self.store.transaction() as s:
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
                    criteria=dict(r.criteria),
                    responses=[{**x, "model": "external"} for x in r.responses],
                    ground_truth=None,
                    source="external",
                    external_id=r.id,
                )
                for r in reqs
            ]


def create_external_app(settings: Settings, store: ValidatorStore) -> FastAPI:
    """The external-task API: ``POST /api/v1/external-tasks``, ``GET /api/v1/external-tasks/{id}``, ``GET /health``."""
    token = settings.validator.external_api_token or ""
    queue = ExternalQueue(store)
    bearer = HTTPBearer(auto_error=False)
    app = FastAPI(title="Dojo validator — external tasks", version="1", responses=ERROR_REPLIES)

    def auth(creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if not token or creds is None or not hmac.compare_digest(creds.credentials.encode(), token.encode()):
            raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()[:10]]
        return JSONResponse({"detail": "; ".join(parts)}, status_code=422)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/api/v1/external-tasks",
        status_code=201,
        dependencies=[Depends(auth)],
        responses={
            200: {"description": "Already submitted with this client_id and content: the existing request"},
            409: {"model": ErrorReply, "description": "This client_id was submitted with other content"},
        },
    )
    async def submit(task: ExternalTaskIn) -> Any:
        try:
            found = await asyncio.to_thread(queue.submit, task)
        except ConflictError as exc:
            raise HTTPException(409, str(exc)) from exc
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return found if found["created"] else JSONResponse(found, status_code=200)

    @app.post("/api/v1/external-tasks/batch", dependencies=[Depends(auth)])
    async def submit_batch(body: dict[str, Any]) -> dict[str, Any]:
        """Up to MAX_BATCH tasks in one call; each is checked on its own, so a bad one never stops the rest."""
        raw = body.get("tasks")
        if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_BATCH or set(body) != {"tasks"}:
            raise HTTPException(422, f"expected {{'tasks': [...]}} with 1 to {MAX_BATCH} tasks")
        return {"results": await asyncio.to_thread(_submit_all, raw)}

    def _submit_all(raw: list[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i, item in enumerate(raw):
            try:
                out.append({"index": i, **queue.submit(ExternalTaskIn.model_validate(item))})
            except ValidationError as exc:
                out.append({"index": i, "error": validation_message(exc)})
            except ValueError as exc:  # includes ConflictError
                out.append({"index": i, "error": str(exc)})
        return out

    @app.get("/api/v1/external-tasks/summary", dependencies=[Depends(auth)])
    async def summary(window_s: float = Query(900.0, gt=0, le=7 * 86400)) -> dict[str, Any]:
        return await asyncio.to_thread(queue.summary, window_s)

    @app.get("/api/v1/external-tasks", dependencies=[Depends(auth)])
    async def listing(
        state: str | None = Query(None, pattern="^(queued|dispatched|done|failed)$"),
        after: str | None = Query(None, max_length=36),
        limit: int = Query(100, ge=1, le=500),
    ) -> dict[str, Any]:
        return await asyncio.to_thread(queue.page, state, after, limit)

    @app.get(
        "/api/v1/external-tasks/{rid}",
        dependencies=[Depends(auth)],
        responses={404: {"model": ErrorReply, "description": "No external task with this id"}},
    )
    async def status(rid: uuid.UUID) -> dict[str, Any]:
        found = await asyncio.to_thread(queue.get, str(rid))
        if found is None:
            raise HTTPException(404, f"no external task {rid}")
        return found

    max_body = settings.validator.external_api_max_body_bytes
    app.add_middleware(BodyLimit, limit_for=lambda _method, _path: max_body)  # 413 before any body is parsed
    return app


async def serve_external_api(settings: Settings, store: ValidatorStore) -> Any:
    """Start the external-task API in this event loop; returns the uvicorn server (set ``should_exit``)."""
    import socket

    import uvicorn

    from dojo.errors import DojoError

    app = create_external_app(settings, store)
    v = settings.validator
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((v.external_api_host, v.external_api_port))
        except OSError as exc:
            raise DojoError(
                f"external-task API cannot listen on {v.external_api_host}:{v.external_api_port}: "
                f"{exc.strerror} (choose another with --external-api-port)"
            ) from exc
    server = uvicorn.Server(
        uvicorn.Config(app, host=v.external_api_host, port=v.external_api_port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    server._dojo_task = task  # type: ignore[attr-defined]  # keep a reference so the task is not collected
    return server
