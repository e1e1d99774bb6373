"""Request and reply bodies of the worker API (the OpenAPI schema is built from these)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dojo.protocol import MAX_LABELLERS_PER_TASK, MAX_RESPONSES, Criterion, LabellerResult, Task

T = TypeVar("T")
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
KeyText = Annotated[str, StringConstraints(min_length=8, max_length=128)]


class In(BaseModel):
    """Base of request bodies: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class Reply(BaseModel, Generic[T]):
    """Every reply: ``{success, body, error}``."""

    success: bool
    body: T | None = None
    error: str | None = None


class EmptyBody(BaseModel):
    """``{}``."""


# ---- auth ----
class NonceBody(BaseModel):
    nonce: str
    address: str | None = None  # the address in EIP-55 form, as the SIWE message must spell it
    domain: str | None = None  # the domain and chain id the server expects in the SIWE message
    chain_id: int | None = None


class LoginIn(In):
    message: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    signature: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class TokenBody(BaseModel):
    token: str
    expires_at: datetime


class ChallengeBody(BaseModel):
    message: str
    expires_at: datetime


class MinerSessionIn(In):
    hotkey: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    message: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    signature: Annotated[str, StringConstraints(min_length=1, max_length=200)]


# ---- keys ----
class KeyInfo(BaseModel):
    prefix: str
    name: str | None
    created_at: datetime
    deleted_at: datetime | None


class KeyList(BaseModel):
    keys: list[KeyInfo]


class KeyCreateIn(In):
    name: Name | None = None


class KeyCreated(BaseModel):
    key: str
    prefix: str


# ---- partners ----
class PartnerIn(In):
    name: Name
    subscription_key: KeyText


class PartnerRenameIn(In):
    name: Name


class PartnerInfo(BaseModel):
    id: int
    name: str
    miner_hotkey: str
    key_prefix: str
    active: bool
    created_at: datetime


class PartnerList(BaseModel):
    partners: list[PartnerInfo]


# ---- tasks ----
class TaskCreateIn(Task):
    """A protocol Task plus how many labellers may answer it."""

    max_results: int | None = Field(None, ge=1, le=MAX_LABELLERS_PER_TASK)


class TaskCreated(BaseModel):
    worker_task_id: str


class TaskSummary(BaseModel):
    id: str
    prompt_preview: str
    n_responses: int
    criteria: Criterion
    status: Literal["open", "completed", "expired", "closed"]  # dojo.worker_api.lifecycle.TaskState
    expire_at: datetime
    created_at: datetime
    result_count: int
    max_results: int
    answered: bool
    miner_hotkey: str


class TaskPage(BaseModel):
    tasks: list[TaskSummary]
    page: int
    limit: int
    total: int


class ResponseOut(BaseModel):
    completion_id: str
    content: str


class MyResult(BaseModel):
    scores: dict[str, float]
    submitted_at: datetime


class TaskDetail(TaskSummary):
    prompt: str
    responses: list[ResponseOut]
    my_result: MyResult | None
    grade: float | None


class ResultIn(In):
    scores: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], float] = Field(
        max_length=MAX_RESPONSES
    )


class ResultAccepted(BaseModel):
    task_id: str
    result_count: int
    submitted_at: datetime


class ResultsBody(BaseModel):
    results: list[LabellerResult]


# ---- the labeller's own record ----
class MinerWork(BaseModel):
    miner_hotkey: str
    partner_names: list[str]
    tasks_done: int
    graded: int
    mean_grade: float | None


class RecentAnswer(BaseModel):
    task_id: str
    prompt_preview: str
    submitted_at: datetime
    grade: float | None
    miner_hotkey: str


class WorkBody(BaseModel):
    tasks_done: int
    graded: int
    mean_grade: float | None
    miners: list[MinerWork]
    recent: list[RecentAnswer]


class HealthBody(BaseModel):
    status: str
    database: str
