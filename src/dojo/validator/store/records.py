"""Plain records passed between the validator's steps and its store (no ORM objects leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dojo.protocol import AnyCriterion, ScoreCriterion, as_criterion


def _typed_criteria(record: Any) -> None:
    """Give a frozen record the typed criterion for whatever it was built with (a model, or a stored dict)."""
    object.__setattr__(record, "criteria", as_criterion(record.criteria))


@dataclass(frozen=True)
class MinerTarget:
    """A miner to talk to: its uid, hotkey and published address."""

    uid: int
    hotkey: str
    address: str


@dataclass(frozen=True)
class NewTask:
    """A task about to enter the store (from the synthetic source or an external request)."""

    id: str
    prompt: str
    criteria: AnyCriterion
    responses: list[dict[str, Any]]  # [{completion_id, content, model}]
    ground_truth: dict[str, int] | None
    source: str = "synthetic"
    external_id: str | None = None

    def __post_init__(self) -> None:
        _typed_criteria(self)


@dataclass(frozen=True)
class NewAssignment:
    """One miner's copy of a task, planned before it is sent."""

    task_id: str
    miner: MinerTarget
    miner_task_id: str
    completion_map: dict[str, str]  # miner completion id -> original completion id
    payload: dict[str, Any]  # protocol.Task JSON without expire_at
    expire_at: datetime


@dataclass(frozen=True)
class AssignmentView:
    """What a step needs to know of one assignment."""

    id: int
    task_id: str
    miner: MinerTarget
    miner_task_id: str
    completion_map: dict[str, str]
    payload: dict[str, Any]
    expire_at: datetime
    state: str
    criteria: AnyCriterion = field(default_factory=lambda: ScoreCriterion(min=1, max=10))

    def __post_init__(self) -> None:
        _typed_criteria(self)


@dataclass(frozen=True)
class LabelRow:
    """One labeller's value for one completion (original id)."""

    labeller_id: str
    completion_id: str
    value: float
    submitted_at: datetime


@dataclass(frozen=True)
class CollectOutcome:
    """What reading one assignment's results gave: rows to keep, or why there are none."""

    rows: list[LabelRow]
    fingerprint: int | None
    error: str | None = None


@dataclass(frozen=True)
class ScoredAssignment:
    """An assignment as the scoring step sees it."""

    id: int
    task_id: str
    uid: int
    hotkey: str
    state: str
    fingerprint: int | None
    rows: list[LabelRow]


@dataclass(frozen=True)
class TaskForScoring:
    """A task as the scoring step sees it."""

    id: str
    state: str
    source: str
    criteria: AnyCriterion
    completion_ids: list[str]  # original order
    ground_truth: dict[str, int] | None
    external_id: str | None

    def __post_init__(self) -> None:
        _typed_criteria(self)


@dataclass(frozen=True)
class MinerState:
    """A miner's running state: decayed task count ``n`` and decayed sums ``s1 = Σρ``, ``s2 = Σρ²``."""

    n: float = 0.0
    s1: float = 0.0
    s2: float = 0.0

    @property
    def mean(self) -> float:
        """The signed running score ``s1 / n`` (0 before any task counted)."""
        return self.s1 / self.n if self.n > 0 else 0.0


@dataclass(frozen=True)
class RoundForScoring:
    """Everything needed to score one round, plus every miner's running state before it."""

    round_id: int
    tasks: list[TaskForScoring]
    assignments: list[ScoredAssignment]
    running: dict[tuple[int, str], MinerState]


@dataclass(frozen=True)
class RoundScores:
    """The outcome of scoring a round, written in one transaction."""

    round_id: int
    task_scores: list[tuple[str, int, str, float]]  # (task_id, uid, hotkey, signed score in [-1, 1])
    labeller_grades: dict[int, dict[str, float]]  # assignment id -> {labeller_id: grade}
    running: dict[tuple[int, str], MinerState]  # every known miner's state after the round
    dropped: list[tuple[int, str]]  # (uid, old hotkey) rows replaced by a new hotkey
    external_results: dict[str, dict[str, Any]]  # external request id -> result JSON


@dataclass(frozen=True)
class FeedbackJob:
    """One feedback message to deliver."""

    assignment_id: int
    task_id: str
    miner: MinerTarget
    miner_task_id: str
    score: float
    ground_truth: dict[str, int]  # in the miner's completion ids
    per_labeller: dict[str, float]


@dataclass(frozen=True)
class NewExternalRequest:
    """An external task to queue, as the external-task API checked it."""

    client_id: str | None  # the consumer's own id: unique, so a re-submit is the same request
    prompt: str
    criteria: dict[str, Any]
    responses: list[dict[str, str]]  # [{completion_id, content}]


@dataclass(frozen=True)
class ExternalAdded:
    """What queueing one request did: a new request, the one its client_id already names, or a clash."""

    id: str
    client_id: str | None
    state: str
    created: bool
    conflict: bool = False  # the client_id names a request with another prompt or other responses


@dataclass(frozen=True)
class CopyMapping:
    """One miner's copy as a simulated labeller's oracle needs it: its ids back to the task's, and the truth."""

    assignment_id: int
    task_id: str
    completion_map: dict[str, str]  # miner completion id -> original completion id
    ground_truth: dict[str, int] | None  # None for an external task


@dataclass(frozen=True)
class Progress:
    """How far the validator has got, per miner by hotkey: what the local network's live view shows."""

    tasks: dict[str, int]  # task state -> count
    rounds_scored: int
    running: dict[str, float]  # hotkey -> running score
    task_means: dict[str, tuple[float, int]]  # hotkey -> (mean task score, tasks scored)


@dataclass(frozen=True)
class ExternalRequestView:
    """An external request as its consumer may see it, with every miner's labellers' raw values."""

    id: str
    client_id: str | None
    state: str
    created_at: datetime
    updated_at: datetime
    prompt: str
    criteria: dict[str, Any]
    responses: list[dict[str, Any]]
    result: dict[str, Any] | None
    labels: list[tuple[str, str, dict[str, float]]] = field(default_factory=list)  # (hotkey, labeller, values)
