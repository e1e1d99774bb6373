"""The synthetic task: a prompt, N HTML answers with random ids, and the hidden quality order."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dojo.protocol import MAX_PROMPT_CHARS, MAX_RESPONSE_CHARS, MAX_RESPONSES, MIN_RESPONSES, ScoreCriterion


class SyntheticResponse(BaseModel):
    """One answer: a complete self-contained HTML document and where it sits on the ladder."""

    model_config = ConfigDict(extra="forbid")

    completion_id: UUID
    content: str = Field(min_length=1, max_length=MAX_RESPONSE_CHARS)
    model: str = Field(min_length=1, max_length=200)
    ladder_step: int = Field(ge=0, le=16)


class SyntheticTask(BaseModel):
    """A task with known ground truth ``{completion_id: rank}`` (0 = best)."""

    model_config = ConfigDict(extra="forbid")

    task_id: UUID
    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    responses: list[SyntheticResponse] = Field(min_length=MIN_RESPONSES, max_length=MAX_RESPONSES)
    ground_truth: dict[UUID, int]
    criteria: ScoreCriterion = Field(default_factory=lambda: ScoreCriterion(min=1, max=10))
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _truth_matches(self) -> SyntheticTask:
        ids = [r.completion_id for r in self.responses]
        if len(set(ids)) != len(ids):
            raise ValueError("completion_id values must be unique within a task")
        if set(self.ground_truth) != set(ids):
            raise ValueError("ground_truth must hold exactly one rank per completion id")
        if sorted(self.ground_truth.values()) != list(range(len(ids))):
            raise ValueError("ground_truth ranks must be 0..n-1, each once")
        return self
