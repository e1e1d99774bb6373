"""SQLAlchemy models of the worker API store (DESIGN §5)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text, TypeDecorator, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dojo.worker_api.lifecycle import INITIAL


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC in the database (same on SQLite and PostgreSQL); returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of every worker API table."""


class Miner(Base):
    __tablename__ = "miners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hotkey: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class _KeyColumns:
    """Shared columns of API keys and subscription keys: only a hash is stored."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiKey(_KeyColumns, Base):
    __tablename__ = "api_keys"

    miner_id: Mapped[int] = mapped_column(ForeignKey("miners.id"), nullable=False, index=True)


class SubscriptionKey(_KeyColumns, Base):
    __tablename__ = "subscription_keys"

    miner_id: Mapped[int] = mapped_column(ForeignKey("miners.id"), nullable=False, index=True)


class Labeller(Base):
    __tablename__ = "labellers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(42), unique=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Partnership(Base):
    """A labeller linked to a miner through one of the miner's subscription keys."""

    __tablename__ = "partnerships"
    __table_args__ = (UniqueConstraint("labeller_id", "subscription_key_id", name="uq_partnership"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    labeller_id: Mapped[int] = mapped_column(ForeignKey("labellers.id"), nullable=False, index=True)
    subscription_key_id: Mapped[int] = mapped_column(ForeignKey("subscription_keys.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_miner_count", "miner_id", "status", "expire_at", "kind"),  # the list's total (0007)
        # the task list's covering indexes (migrations 0002, 0005): led by status (status=open/completed) …
        Index("ix_tasks_list_created", "status", "created_at", "id", "expire_at", "miner_id", "kind"),
        Index("ix_tasks_list_expire", "status", "expire_at", "id", "created_at", "miner_id", "kind"),
        Index("ix_tasks_list_answered", "status", "result_count", "created_at", "id", "expire_at", "miner_id", "kind"),
        # … and led by the sort key (status=all/expired), so every page is read in index order
        Index("ix_tasks_all_created", "created_at", "id", "status", "expire_at", "miner_id", "kind"),
        Index("ix_tasks_all_expire", "expire_at", "id", "status", "created_at", "miner_id", "kind"),
        Index("ix_tasks_all_answered", "result_count", "created_at", "id", "status", "expire_at", "miner_id", "kind"),
        Index("uq_tasks_miner_task", "miner_id", "miner_task_id", unique=True),  # creation is idempotent (0008)
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    miner_id: Mapped[int] = mapped_column(ForeignKey("miners.id"), nullable=False)
    miner_task_id: Mapped[str] = mapped_column(String(36), nullable=False)  # the miner's id of it (dojo.protocol)
    prompt: Mapped[str] = mapped_column(Text, nullable=False)
    responses: Mapped[list[dict[str, str]]] = mapped_column(JSON, nullable=False)
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="score")  # criteria["type"], filterable
    n_responses: Mapped[int] = mapped_column(Integer, nullable=False)
    expire_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    max_results: Mapped[int] = mapped_column(Integer, nullable=False)
    result_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=INITIAL.value)  # lifecycle.TaskState
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    feedback_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    ground_truth: Mapped[dict[str, int] | None] = mapped_column(JSON, nullable=True)
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Result(Base):
    __tablename__ = "results"
    __table_args__ = (UniqueConstraint("task_id", "labeller_id", name="uq_result_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), nullable=False)
    labeller_id: Mapped[int] = mapped_column(ForeignKey("labellers.id"), nullable=False, index=True)
    scores: Mapped[dict[str, float]] = mapped_column(JSON, nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class LabellerGrade(Base):
    """A labeller's grade on one task, from the miner's feedback."""

    __tablename__ = "labeller_grades"
    __table_args__ = (UniqueConstraint("task_id", "labeller_id", name="uq_grade_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), nullable=False)
    labeller_id: Mapped[int] = mapped_column(ForeignKey("labellers.id"), nullable=False, index=True)
    grade: Mapped[float] = mapped_column(Float, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class RevokedToken(Base):
    """A logged-out JWT (by its ``jti``), kept until it would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)


class Instance(Base):
    """This worker API's identity (one row, made by the migration): the issuer named in its session tokens.

    Every process serving the same database is the same instance; another database is another
    instance, even if it shares the JWT secret, so its tokens are refused here.
    """

    __tablename__ = "instance"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
