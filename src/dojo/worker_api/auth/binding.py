"""A session token's ``uid`` must be its ``sub``'s account on this instance (labeller address, miner hotkey).

Issuer and audience already tie a token to one worker API; this check also refuses a token whose
ids were minted elsewhere (another database with the same secret and a copied instance id, a
hand-made token). Accounts are never deleted or re-keyed, so a match is remembered per process.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dojo.worker_api.auth.tokens import LABELLER, Claims
from dojo.worker_api.envelope import ApiError
from dojo.worker_api.store.models import Labeller, Miner


class AccountBinding:
    """``await binding.check(db, role, claims)``: a 401 unless ``claims.user_id`` is ``claims.subject`` here."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._known: set[tuple[str, int, str]] = set()
        self._max = max_entries

    async def check(self, db: AsyncSession, role: str, claims: Claims) -> None:
        key = (role, claims.user_id, claims.subject)
        if key in self._known:
            return
        query = (
            select(Labeller.address).where(Labeller.id == claims.user_id)
            if role == LABELLER
            else select(Miner.hotkey).where(Miner.id == claims.user_id)
        )
        found = (await db.execute(query)).scalar_one_or_none()
        if found != claims.subject:
            raise ApiError(401, "this session does not belong to an account of this worker API: log in again")
        if len(self._known) >= self._max:
            self._known.clear()  # bounded; a miss only costs one lookup
        self._known.add(key)
