"""The labeller's own record (the web UI's "My work" page)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.http_errors import ok
from dojo.worker_api.auth.tokens import Claims
from dojo.worker_api.contexts.work import labeller_work
from dojo.worker_api.deps import current_labeller, session
from dojo.worker_api.schemas import Reply, WorkBody

router = APIRouter(prefix="/worker", tags=["labeller"])


@router.get("/work", response_model=Reply[WorkBody])
async def work(claims: Claims = Depends(current_labeller), db: AsyncSession = Depends(session)) -> dict:
    """Your tasks answered and the grades miners fed back (0–1, agreement with the true order), per miner."""
    return ok(await labeller_work(db, claims.user_id))
