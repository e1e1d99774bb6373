"""A small stand-in for the worker API's miner-facing contract, with knobs to make it fail.

It implements ``POST /api/v1/tasks``, ``GET /api/v1/tasks/{id}/results`` and
``POST /api/v1/tasks/{id}/feedback`` behind ``X-API-KEY``, with ``{success, body, error}``
replies, and records every request it receives so tests can assert what reached it.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from dojo.protocol import Feedback, LabellerResult, Task


@dataclass
class FakeWorkerState:
    """What the fake holds and how it misbehaves."""

    api_key: str
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    feedback: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    fail_status: int | None = None  # when set, every /api/v1 request answers this status
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_result(self, worker_task_id: str, result: LabellerResult) -> None:
        with self.lock:
            self.results.setdefault(worker_task_id, []).append(result.model_dump(mode="json"))

    def api_requests(self) -> list[tuple[str, str]]:
        with self.lock:
            return [r for r in self.requests if r[1].startswith("/api/v1")]


def _ok(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"success": True, "body": body, "error": None}, status_code=status)


def _err(status: int, error: str) -> JSONResponse:
    return JSONResponse({"success": False, "body": None, "error": error}, status_code=status)


def create_fake_worker_api(state: FakeWorkerState) -> FastAPI:
    """The fake's FastAPI app over ``state``."""
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Any:
        with state.lock:
            state.requests.append((request.method, request.url.path))
        if state.fail_status and request.url.path.startswith("/api/v1"):
            return _err(state.fail_status, "injected failure")
        if request.url.path.startswith("/api/v1") and request.headers.get("x-api-key") != state.api_key:
            return _err(401, "invalid or missing API key")
        return await call_next(request)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/tasks")
    async def create(request: Request) -> JSONResponse:
        data = await request.json()
        max_results = data.pop("max_results", None) if isinstance(data, dict) else None
        try:
            task = Task.model_validate(data)
        except ValidationError as exc:
            return _err(422, str(exc.errors()[0]["msg"]))
        worker_task_id = str(uuid.uuid4())
        with state.lock:
            state.tasks[worker_task_id] = {"task": task.model_dump(mode="json"), "max_results": max_results}
        return _ok({"worker_task_id": worker_task_id}, 201)

    @app.get("/api/v1/tasks/{worker_task_id}/results")
    async def results(worker_task_id: str) -> JSONResponse:
        with state.lock:
            if worker_task_id not in state.tasks:
                return _err(404, "no such task")
            return _ok({"results": list(state.results.get(worker_task_id, []))})

    @app.post("/api/v1/tasks/{worker_task_id}/feedback")
    async def feedback(worker_task_id: str, request: Request) -> JSONResponse:
        try:
            fb = Feedback.model_validate_json(await request.body())
        except ValidationError as exc:
            return _err(422, str(exc.errors()[0]["msg"]))
        with state.lock:
            if worker_task_id not in state.tasks:
                return _err(404, "no such task")
            state.feedback.setdefault(worker_task_id, []).append(fb.model_dump(mode="json"))
        return _ok({})

    return app
