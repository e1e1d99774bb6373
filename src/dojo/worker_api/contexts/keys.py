"""Miners and their keys: create (shown once), list by prefix, soft-delete, resolve an API key."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.errors import ApiError
from dojo.worker_api.auth.keys import hash_key, new_key
from dojo.worker_api.store.models import ApiKey, Miner, SubscriptionKey, utcnow

KeyModel = type[ApiKey] | type[SubscriptionKey]
KIND = {ApiKey: "ak", SubscriptionKey: "sk"}


async def get_or_create_miner(session: AsyncSession, hotkey: str) -> Miner:
    """The miner row for ``hotkey``, created on its first login."""
    miner = (await session.execute(select(Miner).where(Miner.hotkey == hotkey))).scalar_one_or_none()
    if miner is not None:
        return miner
    session.add(Miner(hotkey=hotkey))
    try:
        await session.commit()
    except IntegrityError:  # created concurrently by another login
        await session.rollback()
    return (await session.execute(select(Miner).where(Miner.hotkey == hotkey))).scalar_one()


async def create_key(session: AsyncSession, model: KeyModel, miner_id: int, name: str | None) -> tuple[str, str]:
    """A new key for the miner: ``(full key, prefix)``; only its hash is stored."""
    for _ in range(5):  # a prefix collision is astronomically rare; retry rather than fail
        key, prefix = new_key(KIND[model])
        session.add(model(miner_id=miner_id, prefix=prefix, key_hash=hash_key(key), name=name))
        try:
            await session.commit()
            return key, prefix
        except IntegrityError:
            await session.rollback()
    raise ApiError(503, "could not allocate a unique key prefix; try again")


async def list_keys(session: AsyncSession, model: KeyModel, miner_id: int) -> list[ApiKey | SubscriptionKey]:
    """Every key of the miner, deleted ones included (with ``deleted_at``), oldest first."""
    rows = await session.execute(select(model).where(model.miner_id == miner_id).order_by(model.id))
    return list(rows.scalars())  # type: ignore[arg-type]


async def delete_key(session: AsyncSession, model: KeyModel, miner_id: int, prefix: str) -> None:
    """Soft-delete the miner's key with ``prefix``; it stops working at once everywhere."""
    result = await session.execute(
        update(model)
        .where(model.miner_id == miner_id, model.prefix == prefix, model.deleted_at.is_(None))
        .values(deleted_at=utcnow())
    )
    await session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise ApiError(404, f"no live key with prefix {prefix!r}")


async def miner_for_api_key(session: AsyncSession, key: str) -> int | None:
    """The miner id owning the live API key ``key``, or None."""
    row = await session.execute(
        select(ApiKey.miner_id).where(ApiKey.key_hash == hash_key(key), ApiKey.deleted_at.is_(None))
    )
    return row.scalar_one_or_none()
