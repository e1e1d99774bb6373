"""Read-only views of the store: task counts, what ``dojo status`` shows, the local network's oracle and live view."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from dojo.validator.states import RoundState, TaskState
from dojo.validator.store.db import Database
from dojo.validator.store.models import Assignment, Round, RunningScore, Task, TaskScore, WeightSubmission
from dojo.validator.store.records import CopyMapping, Progress


class StoreViews(Database):
    """Reads that change nothing: the engine's progress checks, the operator's view, the local network's."""

    def task_counts(self) -> dict[str, int]:
        """How many tasks are in each state."""
        with self.transaction() as s:
            rows = s.execute(sa.select(Task.state, sa.func.count()).group_by(Task.state)).all()
            return {str(state): int(n) for state, n in rows}

    def unfinished(self) -> int:
        """Tasks not yet at rest (fed back or undelivered)."""
        with self.transaction() as s:
            return int(
                s.scalar(
                    sa.select(sa.func.count())
                    .select_from(Task)
                    .where(Task.state.notin_([TaskState.fed_back.value, TaskState.undelivered.value]))
                )
                or 0
            )

    # ---- operator's view (dojo status) -----------------------------------------------------

    def recent_rounds(self, limit: int = 5) -> list[dict[str, Any]]:
        """The last ``limit`` rounds, newest first: state, times, tasks and their copies by state."""
        with self.transaction() as s:
            rounds = s.scalars(sa.select(Round).order_by(Round.id.desc()).limit(limit)).all()
            ids = [r.id for r in rounds]
            tasks = s.execute(
                sa.select(Task.round_id, Task.source, sa.func.count())
                .where(Task.round_id.in_(ids))
                .group_by(Task.round_id, Task.source)
            ).all()
            copies = s.execute(
                sa.select(Task.round_id, Assignment.state, sa.func.count())
                .join(Assignment, Assignment.task_id == Task.id)
                .where(Task.round_id.in_(ids))
                .group_by(Task.round_id, Assignment.state)
            ).all()
        out: dict[int, dict[str, Any]] = {
            r.id: {
                "id": r.id,
                "state": r.state,
                "created_at": r.created_at,
                "scored_at": r.scored_at,
                "tasks": {},
                "copies": {},
            }
            for r in rounds
        }
        for round_id, source, n in tasks:
            out[round_id]["tasks"][str(source)] = int(n)
        for round_id, state, n in copies:
            out[round_id]["copies"][str(state)] = int(n)
        return [out[i] for i in ids]

    def miner_activity(self, rounds: int = 5) -> list[dict[str, Any]]:
        """Per miner sent a copy in the last ``rounds`` rounds: uid, hotkey and its copies by state."""
        with self.transaction() as s:
            first = s.scalar(sa.select(sa.func.max(Round.id))) or 0
            rows = s.execute(
                sa.select(Assignment.uid, Assignment.hotkey, Assignment.state, sa.func.count())
                .join(Task, Assignment.task_id == Task.id)
                .where(Task.round_id > first - rounds)
                .group_by(Assignment.uid, Assignment.hotkey, Assignment.state)
            ).all()
        miners: dict[tuple[int, str], dict[str, Any]] = {}
        for uid, hotkey, state, n in rows:
            m = miners.setdefault((int(uid), str(hotkey)), {"uid": int(uid), "hotkey": str(hotkey), "copies": {}})
            m["copies"][str(state)] = int(n)
        return sorted(miners.values(), key=lambda m: (m["uid"], m["hotkey"]))

    def recent_weight_submissions(self, limit: int = 5) -> list[WeightSubmission]:
        """The last ``limit`` weight submissions, newest first."""
        with self.transaction() as s:
            return list(s.scalars(sa.select(WeightSubmission).order_by(WeightSubmission.id.desc()).limit(limit)).all())

    def last_weights_set(self) -> WeightSubmission | None:
        """The last successful weight submission."""
        with self.transaction() as s:
            return s.scalar(
                sa.select(WeightSubmission)
                .where(WeightSubmission.status == "ok")
                .order_by(WeightSubmission.id.desc())
                .limit(1)
            )

    def running_rows(self) -> list[RunningScore]:
        """Every miner's running-score row (score, decayed count, last round, when)."""
        with self.transaction() as s:
            return list(s.scalars(sa.select(RunningScore)).all())

    # ---- the local network (simulated labellers' oracle, live view) -------------------------

    def copies_since(self, after_id: int = 0) -> list[CopyMapping]:
        """Every copy with an id above ``after_id``, oldest first: its completion ids and its task's truth."""
        with self.transaction() as s:
            rows = s.execute(
                sa.select(Assignment.id, Assignment.task_id, Assignment.completion_map, Task.ground_truth)
                .join(Task, Task.id == Assignment.task_id)
                .where(Assignment.id > after_id)
                .order_by(Assignment.id)
            ).all()
        return [
            CopyMapping(int(aid), str(task_id), dict(cmap), dict(truth) if truth else None)
            for aid, task_id, cmap, truth in rows
        ]

    def progress(self) -> Progress:
        """Tasks by state, rounds scored, and per hotkey its running score and mean task score (one snapshot)."""
        with self.transaction() as s:
            tasks = s.execute(sa.select(Task.state, sa.func.count()).group_by(Task.state)).all()
            scored = s.scalar(
                sa.select(sa.func.count()).select_from(Round).where(Round.state == RoundState.scored.value)
            )
            running = s.execute(sa.select(RunningScore.hotkey, RunningScore.score)).all()
            means = s.execute(
                sa.select(TaskScore.hotkey, sa.func.avg(TaskScore.score), sa.func.count()).group_by(TaskScore.hotkey)
            ).all()
        return Progress(
            tasks={str(state): int(n) for state, n in tasks},
            rounds_scored=int(scored or 0),
            running={str(hk): float(score) for hk, score in running},
            task_means={str(hk): (float(mean), int(n)) for hk, mean, n in means},
        )
