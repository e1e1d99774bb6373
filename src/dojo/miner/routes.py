"""The miner's endpoints (DESIGN §4): heartbeat, tasks, results, feedback, and an unsigned health check.

Handlers are thin: the gate, the body and the copy's ``miner_task_id`` come in through :mod:`dojo.miner.deps`;
the handler looks up or records the task link and calls the worker API.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter

from dojo import __version__
from dojo.errors import ApiError
from dojo.http_errors import DetailReply
from dojo.logs import log
from dojo.miner.deps import Caller, FeedbackBody, Miner, MinerDep, MinerTaskId, NoBody, TaskBody
from dojo.protocol import MAX_LABELLERS_PER_TASK, Empty, HeartbeatReply, ResultsReply, TaskAccepted

logger = logging.getLogger("dojo.miner.app")

health = APIRouter()
router = APIRouter(
    prefix="/v1",
    responses={
        code: {"model": DetailReply, "description": why}
        for code, why in (
            (401, "Missing, malformed, stale, replayed or badly signed request"),
            (403, "The caller is not a validator of this subnet"),
            (404, "This validator sent no task with this id"),
            (413, "Body over the limit"),
            (422, "A body or task id that does not fit the protocol"),
            (502, "The worker API refused the request or gave a bad reply"),
            (503, "The worker API or the gate's shared stores are unavailable"),
        )
    },
)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


async def _worker_task_id(m: Miner, caller: str, miner_task_id: str) -> str:
    link = await m.store.get(caller, miner_task_id)
    if link is None:
        raise ApiError(404, f"unknown task_id {miner_task_id}: this validator sent no such task")
    return link.worker_task_id


@health.get("/health")
async def get_health(m: MinerDep) -> dict[str, Any]:
    """Liveness for operators (unsigned; reveals nothing but the hotkey)."""
    return {"status": "ok", "hotkey": m.hotkey, "version": __version__}


@router.post("/heartbeat", response_model=HeartbeatReply)
async def heartbeat(m: MinerDep, caller: Caller, _body: NoBody) -> HeartbeatReply:
    """Tell a validator this miner is up and whether its worker API answers."""
    ok = await m.worker.health()
    m.metrics.heartbeats.inc()
    if not ok:
        m.metrics.worker_api_errors.labels("health", "unhealthy").inc()
    return HeartbeatReply(hotkey=m.hotkey, version=__version__, worker_api_ok=ok)


@router.post("/tasks", response_model=TaskAccepted)
async def create_task(m: MinerDep, caller: Caller, task: TaskBody) -> TaskAccepted:
    """Create the task in the worker API at once; a repeated task_id returns the first worker task."""
    miner_task_id = str(task.task_id)  # the wire's task_id
    if _aware(task.expire_at) <= datetime.now(timezone.utc):
        raise ApiError(422, f"task {miner_task_id} has already expired (expire_at={task.expire_at})")
    async with m.locks.get((caller, miner_task_id)):
        link = await m.store.get(caller, miner_task_id)
        if link is None:
            worker_task_id = await m.worker.create_task(task)
            expire_at = _aware(task.expire_at).astimezone(timezone.utc).isoformat()
            link = await m.store.put(caller, miner_task_id, worker_task_id, expire_at)
            m.metrics.tasks_received.labels("new").inc()
            log(
                logger,
                "task.accepted",
                miner_task_id=miner_task_id,
                validator=caller,
                worker_task_id=worker_task_id,
                responses=len(task.responses),
            )
        else:
            m.metrics.tasks_received.labels("repeated").inc()
            log(
                logger,
                "task.repeated",
                miner_task_id=miner_task_id,
                validator=caller,
                worker_task_id=link.worker_task_id,
            )
    return TaskAccepted(worker_task_id=link.worker_task_id)


@router.post("/tasks/{task_id}/results", response_model=ResultsReply)
async def results(m: MinerDep, caller: Caller, _body: NoBody, miner_task_id: MinerTaskId) -> ResultsReply:
    """The labellers' results for one of the caller's tasks, read from the worker API."""
    found = await m.worker.results(await _worker_task_id(m, caller, miner_task_id))
    await m.store.mark_results(caller, miner_task_id, len(found))
    m.metrics.results_served.inc()
    m.metrics.labels_served.inc(min(len(found), MAX_LABELLERS_PER_TASK))
    log(logger, "task.results", miner_task_id=miner_task_id, validator=caller, results=len(found))
    return ResultsReply(results=found[:MAX_LABELLERS_PER_TASK])


@router.post("/tasks/{task_id}/feedback", response_model=Empty)
async def feedback(m: MinerDep, caller: Caller, body: FeedbackBody, miner_task_id: MinerTaskId) -> Empty:
    """Forward the validator's score, ground truth and grades so the worker API grades the labellers."""
    await m.worker.send_feedback(await _worker_task_id(m, caller, miner_task_id), body)
    await m.store.mark_feedback(caller, miner_task_id, body.score)
    m.metrics.feedback.inc()
    m.metrics.last_score.set(body.score)
    log(logger, "task.feedback", miner_task_id=miner_task_id, validator=caller, score=body.score)
    return Empty()
