"""The synthetic task: a prompt, N HTML answers with random ids, and the hidden quality order."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from dojo.protocol import MAX_PROMPT_CHARS, MAX_RESPONSE_CHARS, MAX_RESPONSES, MIN_RESPONSES, ScoreCriterion

if TYPE_CHECKING:
    from dojo.synthetic.ladder import Degradation


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


def rng_uuid(rng: random.Random) -> UUID:
    """A version-4 UUID drawn from ``rng`` (ids stay reproducible under a seed)."""
    return UUID(int=rng.getrandbits(128), version=4)


def assemble_task(
    rng: random.Random,
    steps: Sequence[Degradation],
    documents: Sequence[str],
    model: str,
    prompt: str,
    metadata: dict[str, Any],
) -> SyntheticTask:
    """The task made of one ladder's answers (``documents[i]`` is rung ``steps[i]``).

    Each answer gets a fresh completion id, the ground truth is each answer's rung, the answers
    are shuffled, and ``metadata`` gains the ladder entries (``"ladder"``) and ``"model"``.
    """
    responses = [
        SyntheticResponse(completion_id=rng_uuid(rng), content=doc, model=model, ladder_step=deg.step)
        for deg, doc in zip(steps, documents, strict=True)
    ]
    ladder = [{"completion_id": str(r.completion_id), **d.record()} for r, d in zip(responses, steps, strict=True)]
    truth = {r.completion_id: r.ladder_step for r in responses}
    rng.shuffle(responses)
    return SyntheticTask(
        task_id=rng_uuid(rng),
        prompt=prompt,
        responses=responses,
        ground_truth=truth,
        metadata={**metadata, "ladder": ladder, "model": model},
    )
