"""Wire models shared by validator, miner and worker API (DESIGN §4).

Every model rejects unknown fields and bounds every string and list, so that bad input is a
422 with a clear message, never a 500 and never an unbounded allocation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar, Union
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_PROMPT_CHARS = 64 * 1024
MAX_RESPONSE_CHARS = 512 * 1024
MAX_RESPONSES = 16
MIN_RESPONSES = 2
MAX_LABELLERS_PER_TASK = 64
MAX_ID_CHARS = 128

ShortStr = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS)]
Hotkey = Annotated[str, StringConstraints(min_length=40, max_length=64, pattern=r"^[1-9A-HJ-NP-Za-km-z]+$")]


class Strict(BaseModel):
    """Base of every wire model: unknown fields are an error, strings are bounded."""

    model_config = ConfigDict(extra="forbid", str_max_length=MAX_RESPONSE_CHARS)


class ScoreCriterion(Strict):
    """Each response gets a number in ``[min, max]``; higher is better."""

    type: Literal["score"] = "score"
    min: int = Field(1, ge=0, le=1000)
    max: int = Field(10, ge=1, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> ScoreCriterion:
        if self.max <= self.min:
            raise ValueError(f"score criterion needs min < max, got min={self.min} max={self.max}")
        return self


class RankingCriterion(Strict):
    """A full order of the completions: each value is a rank, 0 = best, each rank used once."""

    type: Literal["ranking"] = "ranking"


Criterion = Annotated[Union[ScoreCriterion, RankingCriterion], Field(discriminator="type")]


class Response(Strict):
    """One completion: a self-contained HTML document."""

    completion_id: UUID
    content: Annotated[str, StringConstraints(min_length=1, max_length=MAX_RESPONSE_CHARS)]


class Task(Strict):
    """What a validator sends a miner (and a miner its worker API): no ground truth, no model names."""

    task_id: UUID
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PROMPT_CHARS)]
    responses: list[Response] = Field(min_length=MIN_RESPONSES, max_length=MAX_RESPONSES)
    criteria: Criterion = Field(default_factory=lambda: ScoreCriterion(type="score", min=1, max=10))
    expire_at: datetime

    @model_validator(mode="after")
    def _unique_ids(self) -> Task:
        ids = [r.completion_id for r in self.responses]
        if len(set(ids)) != len(ids):
            raise ValueError("completion_id values must be unique within a task")
        return self


def check_values(
    criteria: ScoreCriterion | RankingCriterion, completion_ids: set[UUID] | set[str], scores: dict[Any, float]
) -> str | None:
    """Why ``scores`` is not one valid value per completion under ``criteria``, or None if it is."""
    keys = {str(k) for k in scores}
    expected = {str(c) for c in completion_ids}
    if keys != expected:
        missing, extra = sorted(expected - keys), sorted(keys - expected)
        return f"need exactly one value per completion id (missing={missing}, unknown={extra})"
    values = list(scores.values())
    if isinstance(criteria, RankingCriterion):
        if sorted(values) != list(range(len(values))):
            return f"a ranking needs each rank 0..{len(values) - 1} exactly once, got {sorted(values)}"
        return None
    for v in values:
        if not (criteria.min <= v <= criteria.max):
            return f"scores must lie in [{criteria.min}, {criteria.max}], got {v}"
    return None


class Empty(Strict):
    """An empty JSON object ``{}``."""


class HeartbeatReply(Strict):
    hotkey: str
    version: str
    worker_api_ok: bool


class TaskAccepted(Strict):
    worker_task_id: ShortStr


class LabellerResult(Strict):
    """One labeller's answer: a value per completion id."""

    labeller_id: ShortStr
    scores: dict[UUID, float] = Field(max_length=MAX_RESPONSES)
    submitted_at: datetime


class ResultsReply(Strict):
    results: list[LabellerResult] = Field(default_factory=list, max_length=MAX_LABELLERS_PER_TASK)


class Feedback(Strict):
    """Sent after the deadline: the miner's score on the task, the truth, and each labeller's grade."""

    score: float = Field(ge=0.0, le=1.0)
    ground_truth: dict[UUID, int] = Field(max_length=MAX_RESPONSES)
    per_labeller: dict[ShortStr, float] = Field(default_factory=dict, max_length=MAX_LABELLERS_PER_TASK)


T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """The worker API's reply shape: ``{success, body, error}``."""

    success: bool
    body: T | None = None
    error: str | None = None
