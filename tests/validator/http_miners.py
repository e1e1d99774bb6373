"""Fake miners over real HTTP (uvicorn on 127.0.0.1): they record every request body and answer by behaviour.

Behaviours: ``good`` / ``reverse`` (read the rank the test tasks carry in their content), ``hash``
(deterministic values from each response's bytes: reproducible across validator restarts), ``slow``
(results answered after the client's timeout), ``garbage`` (a reply that is not the wire model), ``late``
(labels submitted after the deadline). A repeated copy (same task id) is the same task, as with real miners.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from bittensor import http_auth
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from vfakes import RANK

from dojo import protocol, serving
from support import free_port


@dataclass
class MinerState:
    hotkey: str
    behaviour: str
    requests: list[tuple[str, bytes, str]] = field(default_factory=list)  # (path, raw body, signer hotkey)
    tasks: dict[str, tuple[protocol.Task, datetime]] = field(default_factory=dict)
    feedback: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _values(state: MinerState, task: protocol.Task, labeller: int) -> dict[str, float]:
    ranking = isinstance(task.criteria, protocol.RankingCriterion)
    n = len(task.responses)
    if state.behaviour == "hash":
        keyed = []
        for r in task.responses:
            h = hashlib.sha256(f"{state.hotkey}|{labeller}|".encode() + r.content.encode()).digest()
            keyed.append((int.from_bytes(h[:4], "big"), str(r.completion_id)))
        if ranking:
            return {cid: float(i) for i, (_, cid) in enumerate(sorted(keyed))}
        return {cid: float(1 + k % 10) for k, cid in keyed}
    ranks = {str(r.completion_id): int(RANK.search(r.content).group(1)) for r in task.responses}
    if state.behaviour == "reverse":
        ranks = {c: n - 1 - k for c, k in ranks.items()}
    return {c: float(k if ranking else 10 - 2 * k) for c, k in ranks.items()}


def create_app(state: MinerState) -> FastAPI:
    app = FastAPI()

    nonces = http_auth.InMemoryNonceStore()

    async def record(request: Request) -> bytes:
        body = await request.body()
        try:  # the real btauth/1 check a miner makes (the allow-list by metagraph is the miner's own test)
            caller = http_auth.verify(
                request.headers,
                body,
                method="POST",
                path=request.url.path,
                self_hotkey_ss58=state.hotkey,
                nonce_store=nonces,
            )
        except http_auth.AuthError as exc:
            raise HTTPException(401, f"bad signature: {exc}") from exc
        with state.lock:
            state.requests.append((request.url.path, body, caller.hotkey_ss58))
        return body

    @app.post("/v1/heartbeat")
    async def heartbeat(request: Request) -> Any:
        await record(request)
        return {"hotkey": state.hotkey, "version": "fake", "worker_api_ok": True}

    @app.post("/v1/tasks")
    async def tasks(request: Request) -> Any:
        task = protocol.Task.model_validate_json(await record(request))
        with state.lock:
            state.tasks.setdefault(str(task.task_id), (task, datetime.now(timezone.utc)))
        return {"worker_task_id": f"w-{task.task_id}"}

    @app.post("/v1/tasks/{task_id}/results")
    async def results(task_id: str, request: Request) -> Any:
        await record(request)
        if state.behaviour == "slow":
            await asyncio.sleep(3)
        if state.behaviour == "garbage":
            return PlainTextResponse("<html>oops</html>")
        with state.lock:
            found = state.tasks.get(task_id)
        if found is None:
            return JSONResponse({"detail": "unknown task"}, status_code=404)
        task, received = found
        when = task.expire_at + timedelta(seconds=30) if state.behaviour == "late" else received
        return {
            "results": [
                {
                    "labeller_id": f"{state.hotkey[:8]}-lab{i}",
                    "scores": _values(state, task, i),
                    "submitted_at": when.isoformat(),
                }
                for i in range(2)
            ]
        }

    @app.post("/v1/tasks/{task_id}/feedback")
    async def feedback(task_id: str, request: Request) -> Any:
        body = await record(request)
        with state.lock:
            state.feedback[task_id] = json.loads(body)
        return {}

    return app


class MinerFleet:
    """Several fake miners, each its own server on a free port (:func:`dojo.serving.start_thread`)."""

    def __init__(self, miners: list[tuple[str, str]]) -> None:
        self.states = [MinerState(hotkey, behaviour) for hotkey, behaviour in miners]
        self.ports = [free_port() for _ in miners]
        self.servers: list[serving.ServerThread] = []

    def __enter__(self) -> MinerFleet:
        for state, port in zip(self.states, self.ports, strict=True):
            if state.behaviour == "down":
                continue  # nothing listens on its port
            self.servers.append(serving.start_thread(create_app(state), port=port, lifespan="off"))
        return self

    def __exit__(self, *exc: object) -> None:
        for s in self.servers:
            s.server.should_exit = True  # all at once, then each joined
        for s in self.servers:
            s.stop()

    def address(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"
