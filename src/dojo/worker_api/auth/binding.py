"""A session token's ``uid`` must be its ``sub``'s account on this instance (labeller address, miner hotkey).

Issuer and audience already tie a token to one worker API; this check also refuses a token whose
ids were minted elsewhere (another database with the same secret and a copied instance id, a
hand-made token). Accounts are never deleted or re-keyed, so a match is remembered per process.
"""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, select

from dojo.errors import ApiError
from dojo.worker_api.auth.tokens import LABELLER, Claims
from dojo.worker_api.store.models import Labeller, Miner
from dojo.worker_api.store.runner import Runner

_LABELLER = select(Labeller.address).where(Labeller.id == bindparam("uid", type_=Integer))
_MINER = select(Miner.hotkey).where(Miner.id == bindparam("uid", type_=Integer))


class AccountBinding:
    """``await binding.check(runner, role, claims)``: a 401 unless ``claims.user_id`` is ``claims.subject`` here."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._known: set[tuple[str, int, str]] = set()
        self._max = max_entries

    async def check(self, runner: Runner, role: str, claims: Claims) -> None:
        key = (role, claims.user_id, claims.subject)
        if key in self._known:
            return
        found = await runner.scalar(_LABELLER if role == LABELLER else _MINER, {"uid": claims.user_id})
        if found != claims.subject:
            raise ApiError(401, "this session does not belong to an account of this worker API: log in again")
        if len(self._known) >= self._max:
            self._known.clear()  # bounded; a miss only costs one lookup
        self._known.add(key)
