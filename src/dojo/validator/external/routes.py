"""The external-task API's routes: thin — each checks its input and calls :class:`ExternalQueue`."""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from dojo.errors import ApiError, ConflictError
from dojo.validator.external.deps import Queue, authorised
from dojo.validator.external.schemas import (
    BatchIn,
    BatchReply,
    ErrorReply,
    ExternalTaskIn,
    Health,
    Page,
    Status,
    Submitted,
    Summary,
)

health = APIRouter()
router = APIRouter(prefix="/api/v1/external-tasks", dependencies=[Depends(authorised)], tags=["external tasks"])


@health.get("/health", response_model=Health)
async def alive() -> dict[str, str]:
    """``ok`` while the API answers."""
    return {"status": "ok"}


@router.post(
    "",
    status_code=201,
    response_model=Submitted,
    responses={
        200: {"model": Submitted, "description": "Already submitted with this client_id and content: the request"},
        409: {"model": ErrorReply, "description": "This client_id was submitted with other content"},
    },
)
async def submit(task: ExternalTaskIn, queue: Queue) -> Any:
    """Queue one task; the same ``client_id`` with the same content again returns the first request."""
    try:
        found = await asyncio.to_thread(queue.submit, task)
    except ConflictError as exc:
        raise ApiError(409, str(exc)) from exc
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc
    return found if found["created"] else JSONResponse(found, status_code=200)


@router.post("/batch", response_model=BatchReply)
async def submit_batch(body: BatchIn, queue: Queue) -> dict[str, Any]:
    """Up to 500 tasks (``MAX_BATCH``) in one call, stored in one transaction. Each is checked on its own: a result per
    task, in order — its request, or the field at fault and why; a bad task never stops the others."""
    return {"results": await asyncio.to_thread(queue.submit_batch, body.tasks)}


@router.get("/summary", response_model=Summary)
async def summary(queue: Queue, window_s: Annotated[float, Query(gt=0, le=7 * 86400)] = 900.0) -> dict[str, Any]:
    """Requests by state, the completion rate over the last ``window_s`` seconds, and the ETA it gives."""
    return await asyncio.to_thread(queue.summary, window_s)


@router.get("", response_model=Page)
async def listing(
    queue: Queue,
    state: Annotated[str | None, Query(pattern="^(queued|dispatched|done|failed)$")] = None,
    after: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Requests in id order after ``after``, each with its task, result and every labeller's values."""
    return await asyncio.to_thread(queue.page, state, after, limit)


@router.get(
    "/{rid}",
    response_model=Status,
    responses={404: {"model": ErrorReply, "description": "No external task with this id"}},
)
async def status(rid: Annotated[uuid.UUID, Path()], queue: Queue) -> dict[str, Any]:
    """One request: its state and, once done, its result."""
    found = await asyncio.to_thread(queue.get, str(rid))
    if found is None:
        raise ApiError(404, f"no external task {rid}")
    return found
