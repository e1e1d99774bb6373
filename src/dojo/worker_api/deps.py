"""What routes get through dependencies: a session, the caller (labeller, miner session, API key)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dojo.config import Settings
from dojo.errors import ApiError
from dojo.worker_api.auth.binding import AccountBinding
from dojo.worker_api.auth.miner_login import MinerLogin
from dojo.worker_api.auth.nonces import OneTimeStore
from dojo.worker_api.auth.revocation import RevocationCache
from dojo.worker_api.auth.siwe_login import SiweLogin
from dojo.worker_api.auth.tokens import LABELLER, MINER, Claims, TokenService
from dojo.worker_api.client_ip import ClientAddress
from dojo.worker_api.contexts.keys import miner_for_api_key
from dojo.worker_api.metrics import Metrics
from dojo.worker_api.ratelimit import RateLimits
from dojo.worker_api.store.models import RevokedToken
from dojo.worker_api.store.runner import Runner


@dataclass
class Services:
    """Everything the routes share, built once by ``create_app``."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    read_sessions: async_sessionmaker[AsyncSession]  # autocommit: no BEGIN/ROLLBACK round trips for reads
    tokens: TokenService
    siwe: SiweLogin
    miner_login: MinerLogin
    limits: RateLimits
    metrics: Metrics
    once: OneTimeStore
    writer: AbstractAsyncContextManager[Any]  # serialises SQLite write transactions in this process
    runner: Runner  # the labeller's hot paths and session checks: one hop per statement (store.runner)
    revoked: RevocationCache = field(default_factory=RevocationCache)  # logged-out JWTs, seen within 1 s
    client_address: ClientAddress = field(default_factory=ClientAddress)  # peer or X-Forwarded-For (trusted proxies)
    accounts: AccountBinding = field(default_factory=AccountBinding)  # a token's uid is its subject's, here
    redis_pool: Any = None  # the bounded Redis pool of nonces and rate limits, when Redis is configured


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; GET requests only read, so theirs run without a transaction."""
    svc = services(request)
    factory = svc.read_sessions if request.method in ("GET", "HEAD") else svc.sessions
    async with factory() as s:
        yield s


async def limit_ip(request: Request) -> None:
    """Count the request against its client IP's limit (X-Forwarded-For only behind a trusted proxy)."""
    svc = services(request)
    peer = request.client.host if request.client else "unknown"
    await svc.limits.ip(svc.client_address.resolve(peer, ",".join(request.headers.getlist("x-forwarded-for")) or None))


_REVOKED = select(RevokedToken.jti).where(RevokedToken.jti == bindparam("jti", type_=String))
_bearer = HTTPBearer(auto_error=False, description="A session token from /worker/login or /miner/session")
_api_key = APIKeyHeader(name="X-API-KEY", auto_error=False, description="A miner's API key")


def _token(creds: HTTPAuthorizationCredentials | None) -> str:
    if creds is None or not creds.credentials:
        raise ApiError(401, "missing Authorization: Bearer <token>; log in first")
    return creds.credentials


async def current_labeller(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Claims:
    """The logged-in labeller (a live, unrevoked JWT of this instance, for this account); counts its rate limit."""
    svc = services(request)
    claims = svc.tokens.verify(_token(creds), LABELLER)
    await svc.accounts.check(svc.runner, LABELLER, claims)

    async def in_database() -> bool:
        return await svc.runner.first(_REVOKED, {"jti": claims.jti}) is not None

    if await svc.revoked.is_revoked(claims.jti, claims.expires_at.timestamp(), in_database):
        raise ApiError(401, "this session was logged out: log in again")
    await svc.limits.labeller(claims.user_id)
    return claims


async def current_miner(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Claims:
    """The miner behind a session token from this instance's /miner/session."""
    svc = services(request)
    claims = svc.tokens.verify(_token(creds), MINER)
    await svc.accounts.check(svc.runner, MINER, claims)
    return claims


async def api_key_miner(key: str | None = Depends(_api_key), db: AsyncSession = Depends(session)) -> int:
    """The id of the miner owning the live X-API-KEY."""
    if not key:
        raise ApiError(401, "missing X-API-KEY header")
    miner_id = await miner_for_api_key(db, key)
    if miner_id is None:
        raise ApiError(401, "unknown or deleted API key")
    return miner_id
