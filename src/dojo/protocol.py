"""Wire models shared by validator, miner and worker API (DESIGN §4).

Every model rejects unknown fields and bounds every string and list, so that bad input is a
422 with a clear message, never a 500 and never an unbounded allocation.

Task ids: one task has three ids, and each has one name in the code.

``task_id``
    The validator's own task, a primary key (``validator.store.models.Task.id``; ``task_id`` in the
    store's foreign keys). It is never sent to a miner. It comes from the synthetic service
    (``SyntheticTask.task_id``) or is made for an external request.
``miner_task_id``
    The id of one miner's copy of a task: a fresh UUID made by the validator for each (task, miner)
    in ``validator.copies.build_copy`` and kept as ``Assignment.miner_task_id``. The miner keeps it in
    its task map (``miner.store``) and the worker API in ``tasks.miner_task_id``.
    On the wire it is ``Task.task_id`` (validator → miner, and miner → worker API in the
    create body), and the ``{task_id}`` path segment of the miner's ``/v1/tasks/{task_id}/results``
    and ``/feedback``. Code turns it into ``miner_task_id`` as soon as it reads the body or path.
``worker_task_id``
    The worker API's id for the task it holds: a fresh UUID made in
    ``worker_api.contexts.tasks.create_task``. Inside the worker API it is the task's primary key
    (``Task.id``; ``task_id`` in its foreign keys and paths). It goes back to the miner as
    ``worker_task_id`` (the create reply) and to the validator in ``TaskAccepted.worker_task_id``.

Wire names do not change with the code (miners and validators of older versions send them):
``Task.task_id`` stays ``task_id`` on the wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar, Union
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, model_validator

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

    @property
    def is_ranking(self) -> bool:
        return False

    def better(self, value: float, n: int) -> float:
        """``value`` on the criterion's own "higher is better" axis (a score already is)."""
        return float(value)

    def unit(self, value: float, n: int) -> float:
        """``value`` on the common ``[0, 1]`` axis, 1 = best: ``(value − min) / (max − min)``."""
        return (float(value) - self.min) / (self.max - self.min)

    def step(self, n: int) -> float:
        """One point of the scale on the ``[0, 1]`` axis of :meth:`unit`."""
        return 1.0 / (self.max - self.min)


class RankingCriterion(Strict):
    """A full order of the completions: each value is a rank, 0 = best, each rank used once."""

    type: Literal["ranking"] = "ranking"

    @property
    def is_ranking(self) -> bool:
        return True

    def better(self, value: float, n: int) -> float:
        """A rank (0 = best) among ``n`` as a score, higher is better: ``n − 1 − rank``."""
        return float(n - 1 - value)

    def unit(self, value: float, n: int) -> float:
        """A rank on the common ``[0, 1]`` axis, 1 = best."""
        return (n - 1 - float(value)) / (n - 1) if n > 1 else 1.0

    def step(self, n: int) -> float:
        """One rank on the ``[0, 1]`` axis of :meth:`unit`."""
        return 1.0 / (n - 1) if n > 1 else 1.0


AnyCriterion = Union[ScoreCriterion, RankingCriterion]
Criterion = Annotated[AnyCriterion, Field(discriminator="type")]
_CRITERION = TypeAdapter(Criterion)


def as_criterion(raw: AnyCriterion | Mapping[str, Any] | None) -> AnyCriterion:
    """The one typed criterion for a stored or wire value: a model passes through, a mapping (as kept in a
    JSON column) is validated, None is the default 1–10 score. Every part reads criteria through this."""
    if isinstance(raw, (ScoreCriterion, RankingCriterion)):
        return raw
    if raw is None:
        return ScoreCriterion(min=1, max=10)
    return _CRITERION.validate_python(dict(raw))


class Response(Strict):
    """One completion: a self-contained HTML document."""

    completion_id: UUID
    content: Annotated[str, StringConstraints(min_length=1, max_length=MAX_RESPONSE_CHARS)]


class Task(Strict):
    """What a validator sends a miner (and a miner its worker API): no ground truth, no model names."""

    #: the copy's ``miner_task_id`` (see the module docstring); named ``task_id`` on the wire
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


class ExternalTask(Strict):
    """What a data consumer submits to a validator's external-task API (``dojo.client`` sends it): a prompt,
    2–16 responses (HTML documents), the criteria, and the consumer's own id for the task."""

    prompt: Annotated[str, StringConstraints(min_length=1, max_length=MAX_PROMPT_CHARS)]
    responses: list[Response] = Field(min_length=MIN_RESPONSES, max_length=MAX_RESPONSES)
    criteria: Criterion = Field(default_factory=lambda: ScoreCriterion(type="score", min=1, max=10))
    #: the consumer's own id for the task; submitting it again returns the first request, never a copy
    client_id: ShortStr | None = None


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
    """The miner's reply to a task: the worker API's id of it (``worker_task_id``)."""

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
