"""Scoring: a round ready to score (with every miner's running state), and its scores written once."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from dojo.protocol import as_criterion
from dojo.validator.states import SENT_STATES, AssignmentState, RoundState, TaskState, advance_round, advance_task
from dojo.validator.store.db import Database
from dojo.validator.store.models import Assignment, ExternalRequest, Round, RunningScore, Task, TaskScore, utcnow
from dojo.validator.store.records import (
    LabelRow,
    MinerState,
    RoundForScoring,
    RoundScores,
    ScoredAssignment,
    TaskForScoring,
)


class ScoringSteps(Database):
    """Reading a collected round and writing its task scores, grades and running scores."""

    def round_to_score(self) -> RoundForScoring | None:
        """The oldest open round once all its tasks are collected (rounds are scored in order)."""
        with self.transaction() as s:
            rnd = s.scalars(
                sa.select(Round).where(Round.state == RoundState.open.value).order_by(Round.id).limit(1)
            ).first()
            if rnd is None:
                return None
            tasks = s.scalars(
                sa.select(Task)
                .where(Task.round_id == rnd.id)
                .options(selectinload(Task.assignments).selectinload(Assignment.results))
                .order_by(Task.position)
            ).all()
            if any(t.state not in (TaskState.collected.value, TaskState.undelivered.value) for t in tasks):
                return None
            views, assigned = [], []
            for t in tasks:
                views.append(
                    TaskForScoring(
                        id=t.id,
                        state=t.state,
                        source=t.source,
                        criteria=as_criterion(t.criteria),
                        completion_ids=[str(r["completion_id"]) for r in t.responses],
                        ground_truth=dict(t.ground_truth) if t.ground_truth is not None else None,
                        external_id=t.external_id,
                    )
                )
                for a in t.assignments:
                    if AssignmentState(a.state) not in SENT_STATES:
                        continue
                    rows = [LabelRow(r.labeller_id, r.completion_id, r.value, r.submitted_at) for r in a.results]
                    assigned.append(
                        ScoredAssignment(
                            id=a.id,
                            task_id=t.id,
                            uid=a.uid,
                            hotkey=a.hotkey,
                            state=a.state,
                            fingerprint=a.fingerprint,
                            rows=rows,
                        )
                    )
            running = {(r.uid, r.hotkey): MinerState(r.n, r.s1, r.s2) for r in s.scalars(sa.select(RunningScore)).all()}
            return RoundForScoring(round_id=rnd.id, tasks=views, assignments=assigned, running=running)

    def record_scores(self, scores: RoundScores) -> bool:
        """Write a round's scores and running scores exactly once; False if it was already scored."""
        now = utcnow()
        with self.transaction() as s:
            rnd = s.get(Round, scores.round_id, with_for_update=True)
            if rnd is None or rnd.state != RoundState.open.value:
                return False
            advance_round(rnd, RoundState.scored)
            rnd.scored_at = now
            for task_id, uid, hotkey, score in scores.task_scores:
                s.add(TaskScore(task_id=task_id, round_id=rnd.id, uid=uid, hotkey=hotkey, score=score, created_at=now))
            graded = s.scalars(sa.select(Assignment).where(Assignment.id.in_(list(scores.labeller_grades)))).all()
            for a in graded:
                a.labeller_grades = scores.labeller_grades[a.id]
            for t in s.scalars(sa.select(Task).where(Task.round_id == rnd.id)).all():
                if t.state == TaskState.collected.value:
                    advance_task(t, TaskState.scored)
                    t.scored_at = now
            for uid, hotkey in scores.dropped:
                s.execute(sa.delete(RunningScore).where(RunningScore.uid == uid, RunningScore.hotkey == hotkey))
            for (uid, hotkey), st in scores.running.items():
                row = s.get(RunningScore, (uid, hotkey))
                if row is None:
                    row = RunningScore(uid=uid, hotkey=hotkey)
                    s.add(row)
                row.score, row.n, row.s1, row.s2 = st.mean, st.n, st.s1, st.s2
                row.last_round, row.updated_at = rnd.id, now
            for ext_id, result in scores.external_results.items():
                req = s.get(ExternalRequest, ext_id)
                if req is not None:
                    req.state, req.result, req.updated_at = "done", result, now
            return True
