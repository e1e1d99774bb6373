"""A miner's API keys and subscription keys (session token from /miner/session)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.http_errors import ok
from dojo.worker_api.auth.tokens import Claims
from dojo.worker_api.contexts.keys import KeyModel, create_key, delete_key, list_keys
from dojo.worker_api.deps import current_miner, session
from dojo.worker_api.schemas import EmptyBody, KeyCreated, KeyCreateIn, KeyList, Reply
from dojo.worker_api.store.models import ApiKey, SubscriptionKey

router = APIRouter(tags=["miner keys"])
PrefixParam = Path(..., min_length=1, max_length=32)


def _add(path: str, model: KeyModel, what: str) -> None:
    @router.get(path, response_model=Reply[KeyList], name=f"list {what}s")
    async def list_(claims: Claims = Depends(current_miner), db: AsyncSession = Depends(session)) -> dict:
        keys = await list_keys(db, model, claims.user_id)
        return ok(
            {
                "keys": [
                    {"prefix": k.prefix, "name": k.name, "created_at": k.created_at, "deleted_at": k.deleted_at}
                    for k in keys
                ]
            }
        )

    @router.post(path, response_model=Reply[KeyCreated], name=f"generate {what}")
    async def create(
        body: KeyCreateIn | None = None, claims: Claims = Depends(current_miner), db: AsyncSession = Depends(session)
    ) -> dict:
        key, prefix = await create_key(db, model, claims.user_id, body.name if body else None)
        return ok({"key": key, "prefix": prefix})

    @router.delete(path + "/{prefix}", response_model=Reply[EmptyBody], name=f"delete {what}")
    async def remove(
        prefix: str = PrefixParam, claims: Claims = Depends(current_miner), db: AsyncSession = Depends(session)
    ) -> dict:
        await delete_key(db, model, claims.user_id, prefix)
        return ok({})


_add("/miner/api-keys", ApiKey, "api key")
_add("/miner/subscription-keys", SubscriptionKey, "subscription key")
