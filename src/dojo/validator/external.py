"""External tasks (DESIGN §9): a bearer-token API to submit prompt + responses for human judgement.

Submitted tasks wait in the store (``external_requests``) and are mixed into the next rounds,
where they look like any other task to miners; they are scored by consensus alone. When their
round is scored, the request holds the per-completion mean of every labeller's values and the
labellers' agreement.
"""

from __future__ import annotations

import asyncio
import hmac
import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, StringConstraints

from dojo import protocol
from dojo.config import Settings
from dojo.validator.store.models import ExternalRequest, utcnow
from dojo.validator.store.records import NewTask
from dojo.validator.store.repo import ValidatorStore


class ExternalTaskIn(protocol.Strict):
    """A task to be judged by people: a prompt, 2–16 responses (HTML documents), the criteria."""

    prompt: Annotated[str, StringConstraints(min_length=1, max_length=protocol.MAX_PROMPT_CHARS)]
    responses: list[protocol.Response] = Field(min_length=protocol.MIN_RESPONSES, max_length=protocol.MAX_RESPONSES)
    criteria: protocol.Criterion = Field(default_factory=lambda: protocol.ScoreCriterion(min=1, max=10))


class ExternalQueue:
    """External requests in the store: add, look up, and hand the oldest queued ones to a new round."""

    def __init__(self, store: ValidatorStore) -> None:
        self.store = store

    def add(self, task: ExternalTaskIn) -> str:
        ids = [r.completion_id for r in task.responses]
        if len(set(ids)) != len(ids):
            raise ValueError("completion_id values must be unique within a task")
        now = utcnow()
        rid = str(uuid.uuid4())
        with self.store.transaction() as s:
            s.add(
                ExternalRequest(
                    id=rid,
                    state="queued",
                    prompt=task.prompt,
                    criteria=task.criteria.model_dump(mode="json"),
                    responses=[{"completion_id": str(r.completion_id), "content": r.content} for r in task.responses],
                    created_at=now,
                    updated_at=now,
                )
            )
        return rid

    def get(self, rid: str) -> dict[str, Any] | None:
        with self.store.transaction() as s:
            req = s.get(ExternalRequest, rid)
            if req is None:
                return None
            return {
                "id": req.id,
                "state": req.state,
                "created_at": req.created_at.isoformat(),
                "updated_at": req.updated_at.isoformat(),
                "result": req.result,
            }

    def take(self, n: int) -> list[NewTask]:
        """Up to ``n`` queued requests as new tasks (marked taken when the round that holds them is stored)."""
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
    app = FastAPI(title="Dojo validator — external tasks", version="1")

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

    @app.post("/api/v1/external-tasks", status_code=201, dependencies=[Depends(auth)])
    async def submit(task: ExternalTaskIn) -> dict[str, str]:
        try:
            rid = await asyncio.to_thread(queue.add, task)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        return {"id": rid, "state": "queued"}

    @app.get("/api/v1/external-tasks/{rid}", dependencies=[Depends(auth)])
    async def status(rid: uuid.UUID) -> dict[str, Any]:
        found = await asyncio.to_thread(queue.get, str(rid))
        if found is None:
            raise HTTPException(404, f"no external task {rid}")
        return found

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
