"""Labellers and their partnerships with miners (through a miner's subscription key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.errors import ApiError
from dojo.worker_api.auth.keys import hash_key
from dojo.worker_api.store.models import Labeller, Miner, Partnership, SubscriptionKey, utcnow


async def login_labeller(session: AsyncSession, address: str) -> int:
    """The labeller id for ``address`` (created on first login); records the login time."""
    now = utcnow()
    found = await session.execute(
        update(Labeller).where(Labeller.address == address).values(last_login_at=now).returning(Labeller.id)
    )
    labeller_id = found.scalar_one_or_none()
    if labeller_id is None:
        session.add(Labeller(address=address, last_login_at=now))
        try:
            await session.commit()
        except IntegrityError:
            await session.rollback()
        labeller_id = (await session.execute(select(Labeller.id).where(Labeller.address == address))).scalar_one()
    else:
        await session.commit()
    return int(labeller_id)


@dataclass(frozen=True)
class PartnerView:
    id: int
    name: str
    miner_hotkey: str
    key_prefix: str
    active: bool
    created_at: datetime


def _partner_query(labeller_id: int):  # type: ignore[no-untyped-def]
    return (
        select(
            Partnership.id,
            Partnership.name,
            Miner.hotkey,
            SubscriptionKey.prefix,
            SubscriptionKey.deleted_at,
            Partnership.created_at,
        )
        .join(SubscriptionKey, SubscriptionKey.id == Partnership.subscription_key_id)
        .join(Miner, Miner.id == SubscriptionKey.miner_id)
        .where(Partnership.labeller_id == labeller_id)
    )


def _view(row: tuple) -> PartnerView:  # type: ignore[type-arg]
    pid, name, hotkey, prefix, deleted_at, created_at = row
    return PartnerView(pid, name, hotkey, prefix, deleted_at is None, created_at)


async def add_partner(session: AsyncSession, labeller_id: int, name: str, subscription_key: str) -> PartnerView:
    """Link the labeller to the miner owning the live ``subscription_key``."""
    key_id = (
        await session.execute(
            select(SubscriptionKey.id).where(
                SubscriptionKey.key_hash == hash_key(subscription_key), SubscriptionKey.deleted_at.is_(None)
            )
        )
    ).scalar_one_or_none()
    if key_id is None:
        raise ApiError(404, "unknown or deleted subscription key: ask the miner for a current one")
    session.add(Partnership(labeller_id=labeller_id, subscription_key_id=key_id, name=name))
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise ApiError(409, "already linked with this subscription key") from exc
    row = (await session.execute(_partner_query(labeller_id).where(Partnership.subscription_key_id == key_id))).one()
    return _view(tuple(row))


async def list_partners(session: AsyncSession, labeller_id: int) -> list[PartnerView]:
    """The labeller's partnerships; ``active`` is False once the miner deleted the key."""
    rows = await session.execute(_partner_query(labeller_id).order_by(Partnership.id))
    return [_view(tuple(r)) for r in rows]


async def rename_partner(session: AsyncSession, labeller_id: int, partner_id: int, name: str) -> PartnerView:
    """Give one of the labeller's own partnerships a new name."""
    result = await session.execute(
        update(Partnership)
        .where(Partnership.id == partner_id, Partnership.labeller_id == labeller_id)
        .values(name=name)
    )
    await session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise ApiError(404, f"no partnership {partner_id}")
    row = (await session.execute(_partner_query(labeller_id).where(Partnership.id == partner_id))).one()
    return _view(tuple(row))


async def remove_partner(session: AsyncSession, labeller_id: int, partner_id: int) -> None:
    """Remove one of the labeller's own partnerships."""
    result = await session.execute(
        delete(Partnership).where(Partnership.id == partner_id, Partnership.labeller_id == labeller_id)
    )
    await session.commit()
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise ApiError(404, f"no partnership {partner_id}")
