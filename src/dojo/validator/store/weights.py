"""Running scores and weight submissions: what the weights are computed from, and each attempt to set them."""

from __future__ import annotations

import sqlalchemy as sa

from dojo.validator.store.db import Database
from dojo.validator.store.models import RunningScore, WeightSubmission, utcnow
from dojo.validator.store.records import MinerState


class WeightSteps(Database):
    """Every miner's running state, and the weight submissions made from it."""

    def running_scores(self) -> dict[tuple[int, str], float]:
        """Every miner's running score (the signed running mean), keyed by (uid, hotkey)."""
        with self.transaction() as s:
            return {(r.uid, r.hotkey): r.score for r in s.scalars(sa.select(RunningScore)).all()}

    def running_states(self) -> dict[tuple[int, str], MinerState]:
        """Every miner's full running state (decayed count and sums), keyed by (uid, hotkey): what weights use."""
        with self.transaction() as s:
            return {(r.uid, r.hotkey): MinerState(r.n, r.s1, r.s2) for r in s.scalars(sa.select(RunningScore)).all()}

    def last_weights_block(self) -> int | None:
        """The block of the last successful weight submission."""
        with self.transaction() as s:
            return s.scalar(
                sa.select(WeightSubmission.block)
                .where(WeightSubmission.status == "ok")
                .order_by(WeightSubmission.id.desc())
                .limit(1)
            )

    def record_weights(self, block: int, weights: dict[int, float], status: str, message: str | None = None) -> None:
        """Keep one weight submission attempt."""
        with self.transaction() as s:
            s.add(
                WeightSubmission(
                    block=block,
                    weights={str(k): v for k, v in weights.items()},
                    status=status,
                    message=(message or None) and message[:512],
                    created_at=utcnow(),
                )
            )

    def weight_submissions(self) -> list[WeightSubmission]:
        """Every weight submission, oldest first."""
        with self.transaction() as s:
            return list(s.scalars(sa.select(WeightSubmission).order_by(WeightSubmission.id)).all())
