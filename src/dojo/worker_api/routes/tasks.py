"""Tasks: created and read back by miners (X-API-KEY), listed, read and answered by labellers (JWT)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.errors import ApiError
from dojo.http_errors import ok
from dojo.protocol import Feedback
from dojo.worker_api.auth.tokens import Claims
from dojo.worker_api.contexts import feedback as feedback_ctx
from dojo.worker_api.contexts import submission, tasks
from dojo.worker_api.deps import api_key_miner, current_labeller, services, session
from dojo.worker_api.routes import ok_json
from dojo.worker_api.schemas import (
    EmptyBody,
    Reply,
    ResultAccepted,
    ResultIn,
    ResultsBody,
    TaskCreated,
    TaskCreateIn,
    TaskDetail,
    TaskPage,
)

router = APIRouter(prefix="/tasks", tags=["tasks"])
TaskId = Path(..., min_length=1, max_length=64, description="The worker task id (``worker_task_id``)")


@router.post("", response_model=Reply[TaskCreated])
async def create(
    body: TaskCreateIn, request: Request, miner_id: int = Depends(api_key_miner), db: AsyncSession = Depends(session)
) -> dict:
    """Create a task for the miner's labellers; the same ``task_id`` (the miner's ``miner_task_id``) again
    returns the same ``worker_task_id``."""
    svc = services(request)
    worker_task_id = await tasks.create_task(db, miner_id, body, svc.settings.worker.max_results, svc.writer)
    return ok({"worker_task_id": worker_task_id})


@router.get("", response_model=Reply[TaskPage])
async def list_(
    request: Request,
    status: Literal["all", "open", "completed", "expired", "closed"] = "all",
    answered: bool | None = Query(None, description="Only tasks you have (not) answered"),
    type: Literal["score", "ranking"] | None = Query(None, description="Only tasks of this criterion type"),
    sort: Literal["newest", "oldest", "expiring", "most_answered"] = "newest",
    page: int = Query(1, ge=1, le=100_000),
    limit: int = Query(20, ge=1, le=100),
    claims: Claims = Depends(current_labeller),
) -> Response:
    """Tasks of the miners you are linked to."""
    items, total = await tasks.list_tasks(
        services(request).runner,
        claims.user_id,
        status=status,
        answered=answered,
        sort=sort,
        page=page,
        limit=limit,
        kind=type,
    )
    return ok_json({"tasks": items, "page": page, "limit": limit, "total": total})


@router.get("/{task_id}", response_model=Reply[TaskDetail])
async def fetch(request: Request, task_id: str = TaskId, claims: Claims = Depends(current_labeller)) -> Response:
    """One task in full, with your answer and grade if any."""
    return ok_json(await tasks.task_for_labeller(services(request).runner, claims.user_id, task_id))


@router.put("/{task_id}/result", response_model=Reply[ResultAccepted])
async def submit(
    body: ResultIn,
    request: Request,
    task_id: str = TaskId,
    claims: Claims = Depends(current_labeller),
) -> Response:
    """Answer a task: one value per completion id."""
    svc = services(request)
    metrics = svc.metrics
    try:
        accepted = await submission.submit_result(svc.runner, claims.user_id, task_id, body.scores, svc.writer)
    except ApiError as exc:
        metrics.submissions.labels(f"rejected_{exc.status}").inc()
        raise
    metrics.submissions.labels("accepted").inc()
    return ok_json(
        {"task_id": accepted.task_id, "result_count": accepted.result_count, "submitted_at": accepted.submitted_at}
    )


@router.get("/{task_id}/results", response_model=Reply[ResultsBody])
async def results(
    task_id: str = TaskId, miner_id: int = Depends(api_key_miner), db: AsyncSession = Depends(session)
) -> dict:
    """Every accepted result of your task (owning miner's API key only)."""
    found = await tasks.results_for_miner(db, miner_id, task_id)
    return ok({"results": [r.model_dump(mode="json") for r in found]})


@router.post("/{task_id}/feedback", response_model=Reply[EmptyBody])
async def feedback(
    body: Feedback, task_id: str = TaskId, miner_id: int = Depends(api_key_miner), db: AsyncSession = Depends(session)
) -> dict:
    """The validator's score and ground truth for your task, turned into labeller grades."""
    await feedback_ctx.apply_feedback(db, miner_id, task_id, body)
    return ok({})
