"""Logins: labellers by SIWE (nonce → signed message → JWT), miners by a hotkey-signed challenge."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.http_errors import ok
from dojo.worker_api.auth.siwe_login import checksum_address
from dojo.worker_api.auth.tokens import LABELLER, MINER, Claims
from dojo.worker_api.contexts.keys import get_or_create_miner
from dojo.worker_api.contexts.labellers import login_labeller
from dojo.worker_api.deps import current_labeller, services, session
from dojo.worker_api.schemas import (
    ChallengeBody,
    EmptyBody,
    LoginIn,
    MinerSessionIn,
    NonceBody,
    Reply,
    TokenBody,
)
from dojo.worker_api.store.models import RevokedToken

router = APIRouter(tags=["auth"])


@router.get("/auth/nonce", response_model=Reply[NonceBody])
async def nonce(
    request: Request, address: str = Query(..., min_length=1, max_length=64, description="The wallet address, 0x…")
) -> dict:
    """A single-use SIWE nonce for ``address``, valid for a few minutes, and what the message must say."""
    siwe = services(request).siwe
    domain = siwe.domain_for(request.headers.get("host"))  # refused here already where a login would be
    nonce = await siwe.issue_nonce(address)
    return ok({"nonce": nonce, "address": checksum_address(address), "domain": domain, "chain_id": siwe.chain_id})


@router.post("/worker/login", response_model=Reply[TokenBody])
async def worker_login(body: LoginIn, request: Request, db: AsyncSession = Depends(session)) -> dict:
    """Exchange a signed EIP-4361 message for a JWT."""
    svc = services(request)
    address = await svc.siwe.verify(body.message, body.signature, request.headers.get("host"))
    labeller_id = await login_labeller(db, address)
    token, expires_at, _ = svc.tokens.issue(LABELLER, address, labeller_id)
    return ok({"token": token, "expires_at": expires_at})


@router.post("/worker/logout", response_model=Reply[EmptyBody])
async def worker_logout(
    request: Request, claims: Claims = Depends(current_labeller), db: AsyncSession = Depends(session)
) -> dict:
    """Revoke the current JWT (at once in this process, within 1 s in the others sharing the database)."""
    db.add(RevokedToken(jti=claims.jti, expires_at=claims.expires_at))
    try:
        await db.commit()
    except IntegrityError:  # logged out twice concurrently: already revoked
        await db.rollback()
    services(request).revoked.revoke(claims.jti, claims.expires_at.timestamp())
    return ok({})


@router.get("/miner/challenge", response_model=Reply[ChallengeBody])
async def miner_challenge(request: Request, hotkey: str = Query(..., min_length=1, max_length=64)) -> dict:
    """The text the miner signs with its hotkey to log in (holds a single-use nonce and an expiry)."""
    message, expires_at = await services(request).miner_login.challenge(hotkey)
    return ok({"message": message, "expires_at": expires_at})


@router.post("/miner/session", response_model=Reply[TokenBody])
async def miner_session(body: MinerSessionIn, request: Request, db: AsyncSession = Depends(session)) -> dict:
    """Exchange a signed challenge for a session token for the key endpoints."""
    svc = services(request)
    hotkey = await svc.miner_login.verify(body.hotkey, body.message, body.signature)
    miner = await get_or_create_miner(db, hotkey)
    token, expires_at, _ = svc.tokens.issue(MINER, hotkey, miner.id)
    return ok({"token": token, "expires_at": expires_at})
