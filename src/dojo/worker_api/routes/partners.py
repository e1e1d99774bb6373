"""A labeller's partnerships with miners."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.http_errors import ok
from dojo.worker_api.auth.tokens import Claims
from dojo.worker_api.contexts.labellers import add_partner, list_partners, remove_partner, rename_partner
from dojo.worker_api.deps import current_labeller, session
from dojo.worker_api.schemas import EmptyBody, PartnerIn, PartnerInfo, PartnerList, PartnerRenameIn, Reply

router = APIRouter(prefix="/worker/partners", tags=["labeller"])


@router.post("", response_model=Reply[PartnerInfo])
async def create(
    body: PartnerIn, claims: Claims = Depends(current_labeller), db: AsyncSession = Depends(session)
) -> dict:
    """Link to a miner by one of its subscription keys."""
    return ok(asdict(await add_partner(db, claims.user_id, body.name, body.subscription_key)))


@router.get("", response_model=Reply[PartnerList])
async def list_(claims: Claims = Depends(current_labeller), db: AsyncSession = Depends(session)) -> dict:
    """The labeller's partnerships (``active`` false once the miner deleted the key)."""
    return ok({"partners": [asdict(p) for p in await list_partners(db, claims.user_id)]})


@router.patch("/{partner_id}", response_model=Reply[PartnerInfo])
async def rename(
    body: PartnerRenameIn,
    partner_id: int = Path(..., ge=1, le=2**31 - 1),
    claims: Claims = Depends(current_labeller),
    db: AsyncSession = Depends(session),
) -> dict:
    """Rename a partnership (the name is the labeller's own label for the miner)."""
    return ok(asdict(await rename_partner(db, claims.user_id, partner_id, body.name)))


@router.delete("/{partner_id}", response_model=Reply[EmptyBody])
async def remove(
    partner_id: int = Path(..., ge=1, le=2**31 - 1),
    claims: Claims = Depends(current_labeller),
    db: AsyncSession = Depends(session),
) -> dict:
    """Remove a partnership."""
    await remove_partner(db, claims.user_id, partner_id)
    return ok({})
