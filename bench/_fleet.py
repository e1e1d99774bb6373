"""A fleet of lightweight fake miners in one process: one uvicorn server listening on one loopback port per miner.

Each port is one miner (its hotkey is the receiver every request must be signed for). Every request
goes through the real ``dojo.transport.server.ValidatorGate`` — ``btauth/1`` signature, receiver,
freshness, replay, then the allow-list by the local chain's metagraph — before the handler runs.
A miner accepts copies (parsed as ``protocol.Task``), answers results for each with ``--labellers``
labellers (valid values for the criterion, drawn from a generator keyed by miner, task and labeller)
and takes feedback. Nothing is sent to a worker API: the bench measures the validator's side.

Run by ``bench/_scale_round.py``: ``python bench/_fleet.py --chain FILE --hotkeys FILE``; it prints
``{"ports": [...]}`` on one line once every port listens, and exits when its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any

import uvicorn
from fastapi import HTTPException, Request

from dojo import protocol
from dojo.chain.local import LocalChain
from dojo.transport.server import ValidatorGate


class SharedMetagraph:
    """One metagraph read shared by every miner's gate (each gate also caches it, as a real miner does)."""

    def __init__(self, chain: LocalChain, ttl_s: float = 10.0) -> None:
        self.chain, self.ttl_s = chain, ttl_s
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._meta: Any = None

    def __call__(self) -> Any:
        with self._lock:
            if time.monotonic() - self._at > self.ttl_s:
                self._meta, self._at = self.chain.metagraph(), time.monotonic()
            return self._meta


class Miner:
    """One fake miner's state: the copies it holds and how many requests of each kind it served."""

    def __init__(self, hotkey: str, gate: ValidatorGate) -> None:
        self.hotkey, self.gate = hotkey, gate
        self.tasks: dict[str, tuple[protocol.Task, datetime]] = {}
        self.served: dict[str, int] = {}


def values(miner: str, task: protocol.Task, labeller: int) -> dict[str, float]:
    """One labeller's valid answer: a ranking or a score per response, reproducible for (miner, task, labeller)."""
    digest = hashlib.sha256(f"{miner}|{task.task_id}|{labeller}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    ids = [str(r.completion_id) for r in task.responses]
    if isinstance(task.criteria, protocol.RankingCriterion):
        ranks = list(range(len(ids)))
        rng.shuffle(ranks)
        return dict(zip(ids, map(float, ranks), strict=True))
    lo, hi = task.criteria.min, task.criteria.max
    return {cid: float(rng.randint(lo, hi)) for cid in ids}


Reply = tuple[int, Any]


def create_app(miners: dict[int, Miner], labellers: int) -> Any:
    """The fleet's ASGI app: the four miner endpoints (and ``GET /served``), each behind the miner's real gate.

    A plain ASGI callable rather than a FastAPI app: a real miner's framework runs on the miner's
    own machine, while the fleet's shares this machine's CPUs with the validator being measured,
    so the fake miners spend no more than the gate (signature, replay, allow-list) and the parse of
    what they were sent.
    """

    async def heartbeat(miner: Miner, body: bytes, task_id: str | None) -> Reply:
        return 200, {"hotkey": miner.hotkey, "version": "fleet", "worker_api_ok": True}

    async def tasks(miner: Miner, body: bytes, task_id: str | None) -> Reply:
        task = protocol.Task.model_validate_json(body)
        miner.tasks.setdefault(str(task.task_id), (task, datetime.now(timezone.utc)))  # a repeat is the same copy
        return 200, {"worker_task_id": f"w-{task.task_id}"}

    async def results(miner: Miner, body: bytes, task_id: str | None) -> Reply:
        found = miner.tasks.get(task_id or "")
        if found is None:
            return 404, {"detail": "unknown task"}
        task, received = found
        return 200, {
            "results": [
                {
                    "labeller_id": f"{miner.hotkey[:10]}-l{k}",
                    "scores": values(miner.hotkey, task, k),
                    "submitted_at": received.isoformat(),
                }
                for k in range(labellers)
            ]
        }

    async def feedback(miner: Miner, body: bytes, task_id: str | None) -> Reply:
        protocol.Feedback.model_validate_json(body)
        return 200, {}

    def route(path: str) -> tuple[str, Any, str | None] | None:
        if path == "/v1/heartbeat":
            return "heartbeat", heartbeat, None
        if path == "/v1/tasks":
            return "tasks", tasks, None
        parts = path.split("/")  # ["", "v1", "tasks", id, "results" | "feedback"]
        if len(parts) == 5 and parts[1:3] == ["v1", "tasks"] and parts[4] in ("results", "feedback"):
            return parts[4], results if parts[4] == "results" else feedback, parts[3]
        return None

    async def reply(send: Any, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(payload, separators=(",", ":")).encode()
        head = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
        head += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": raw})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET" and scope["path"] == "/served":
            total: dict[str, int] = {}
            for m in miners.values():
                for k, v in m.served.items():
                    total[k] = total.get(k, 0) + v
            await reply(send, 200, total)
            return
        found = route(scope["path"]) if scope["method"] == "POST" else None
        if found is None:
            await reply(send, 404, {"detail": "Not Found"})
            return
        kind, handler, task_id = found
        request = Request(scope, receive)
        miner = miners[scope["server"][1]]  # the port called is the miner called
        try:
            await miner.gate(request)  # 401/403/413/503 before anything else
        except HTTPException as exc:
            await reply(send, exc.status_code, {"detail": exc.detail}, exc.headers)
            return
        miner.served[kind] = miner.served.get(kind, 0) + 1
        try:
            status, payload = await handler(miner, await request.body(), task_id)
        except ValueError as exc:  # a body that is not the protocol's model (pydantic's ValidationError)
            status, payload = 422, {"detail": str(exc)[:500]}
        await reply(send, status, payload)

    return app


async def serve(chain_path: str, hotkeys: list[str], labellers: int, min_stake: float) -> None:
    chain = LocalChain(chain_path)
    metagraph = SharedMetagraph(chain)
    socks, miners = [], {}
    for hotkey in hotkeys:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        socks.append(sock)
        miners[port] = Miner(hotkey, ValidatorGate(hotkey, metagraph, min_stake=min_stake))
    config = uvicorn.Config(
        create_app(miners, labellers), log_level="warning", access_log=False, lifespan="off", backlog=4096
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=socks))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    print(json.dumps({"ports": list(miners)}), flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin (or dies)
    server.should_exit = True
    await task


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chain", required=True)
    ap.add_argument("--hotkeys", required=True, help="a JSON file: the miners' hotkeys")
    ap.add_argument("--labellers", type=int, default=3)
    ap.add_argument("--min-stake", type=float, default=1000.0)
    args = ap.parse_args()
    with open(args.hotkeys) as f:
        hotkeys = json.load(f)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args.chain, hotkeys, args.labellers, args.min_stake))


if __name__ == "__main__":
    main()
