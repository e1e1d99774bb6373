"""The validator's tables (DESIGN §5). Alembic migrations in ``migrations/`` own the schema."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back timezone-aware, identical on SQLite and PostgreSQL."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of the validator store."""


class Round(Base):
    """Tasks created together; scored together, in round order."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    tasks: Mapped[list[Task]] = relationship(back_populates="round", order_by="Task.position")


class Task(Base):
    """One task as the validator knows it: with the ground truth and the model names."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    source: Mapped[str] = mapped_column(sa.String(16))  # synthetic | external
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    prompt: Mapped[str] = mapped_column(sa.Text)
    criteria: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    # [{completion_id, content, model}] in the original order
    responses: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    ground_truth: Mapped[dict[str, int] | None] = mapped_column(sa.JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    external_id: Mapped[str | None] = mapped_column(sa.ForeignKey("external_requests.id"), nullable=True)

    round: Mapped[Round] = relationship(back_populates="tasks")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="task", order_by="Assignment.id")


class Assignment(Base):
    """One miner's copy of one task: its own task id, completion ids, order and deadline."""

    __tablename__ = "assignments"
    __table_args__ = (sa.UniqueConstraint("task_id", "hotkey", name="uq_assignment_task_hotkey"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(sa.ForeignKey("tasks.id"), index=True)
    uid: Mapped[int] = mapped_column(sa.Integer)
    hotkey: Mapped[str] = mapped_column(sa.String(64), index=True)
    address: Mapped[str] = mapped_column(sa.String(256))
    miner_task_id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    # {miner completion id: original completion id}
    completion_map: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)  # the protocol.Task sent, minus expire_at
    expire_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(sa.String(24), index=True)
    worker_task_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    error: Mapped[str | None] = mapped_column(sa.String(512), nullable=True)
    fingerprint: Mapped[int | None] = mapped_column(sa.BigInteger, nullable=True)
    labeller_grades: Mapped[dict[str, float] | None] = mapped_column(sa.JSON, nullable=True)
    feedback_attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    task: Mapped[Task] = relationship(back_populates="assignments")
    results: Mapped[list[Result]] = relationship(back_populates="assignment", order_by="Result.id")


class Result(Base):
    """One labeller's value for one completion (original completion id)."""

    __tablename__ = "results"
    __table_args__ = (sa.UniqueConstraint("assignment_id", "labeller_id", "completion_id", name="uq_result_cell"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"), index=True)
    labeller_id: Mapped[str] = mapped_column(sa.String(128))
    completion_id: Mapped[str] = mapped_column(sa.String(36))
    value: Mapped[float] = mapped_column(sa.Float)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())

    assignment: Mapped[Assignment] = relationship(back_populates="results")


class TaskScore(Base):
    """A miner's score on a task, written once when its round is scored."""

    __tablename__ = "task_scores"
    __table_args__ = (sa.UniqueConstraint("task_id", "hotkey", name="uq_task_score"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(sa.ForeignKey("tasks.id"), index=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id"), index=True)
    uid: Mapped[int] = mapped_column(sa.Integer)
    hotkey: Mapped[str] = mapped_column(sa.String(64))
    score: Mapped[float] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RunningScore(Base):
    """A miner's running state per (uid, hotkey): a new hotkey on a uid starts from zero.

    ``n``, ``s1`` and ``s2`` are the exponentially decayed count, sum and sum of squares of its
    signed task scores (``dojo.scoring.RunningState``); ``score`` is the running mean ``s1 / n``,
    kept for readers.
    """

    __tablename__ = "running_scores"

    uid: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    hotkey: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    score: Mapped[float] = mapped_column(sa.Float)
    n: Mapped[float] = mapped_column(sa.Float, default=0.0, server_default="0")
    s1: Mapped[float] = mapped_column(sa.Float, default=0.0, server_default="0")
    s2: Mapped[float] = mapped_column(sa.Float, default=0.0, server_default="0")
    last_round: Mapped[int] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WeightSubmission(Base):
    """Each attempt to set weights on the chain, and how it went."""

    __tablename__ = "weight_submissions"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    block: Mapped[int] = mapped_column(sa.Integer)
    weights: Mapped[dict[str, float]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(16))  # ok | rate_limited | error
    message: Mapped[str | None] = mapped_column(sa.String(512), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExternalRequest(Base):
    """A task submitted through the external-task API (DESIGN §9)."""

    __tablename__ = "external_requests"
    __table_args__ = (sa.UniqueConstraint("client_id", name="uq_external_client_id"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    # the consumer's own id for the task (optional, unique): submitting it again never duplicates
    client_id: Mapped[str | None] = mapped_column(sa.String(128), nullable=True)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)  # queued | dispatched | done | failed
    prompt: Mapped[str] = mapped_column(sa.Text)
    criteria: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    responses: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
