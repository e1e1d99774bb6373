"""Who labels for each miner of the local network: a crew of people, or a cheating strategy.

``--crews`` names one crew per miner, separated by ``;``. A crew is either comma-separated
human skills (``careful,noisy,random``; see :mod:`dojo.localnet.skills`) or one miner-level
strategy (:mod:`dojo.localnet.strategies`):

* ``lengthbot`` — one bot account that scores answers by document size;
* ``copier:N`` — resells miner N's crew: as many accounts as that crew, each submitting one of
  its answers carried over to this miner's copy with one score moved by ±1;
* ``colluder`` — one account answering the pattern every colluder shares.

Each simulated labeller gets a *brain* that turns a task it was shown into an answer. A person's
brain asks the truth oracle; a bot's brain reads only the task. The source crew of a copier
publishes what it submits on a :class:`ResaleBoard` (the reseller is the same operator, so it
has its own crew's answers in hand); the copier's brains read it.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Protocol

from dojo.localnet import strategies
from dojo.localnet.skills import Skill, parse_crew
from dojo.localnet.strategies import Answer, SoldTask, TaskView

# completion id (as the labeller sees it) -> true rank, or None when unknown yet
Oracle = Callable[[list[str]], dict[str, int] | None]


class Strategy(str, Enum):
    """What a miner runs in place of (or as) its crew."""

    human = "human"  # people of the given skills
    lengthbot = "lengthbot"
    copier = "copier"
    colluder = "colluder"


HUMAN_QUALITY = {Skill.careful: 1.0, Skill.noisy: 0.5, Skill.lazy: 0.0, Skill.random: 0.0, Skill.adversarial: -1.0}


@dataclass(frozen=True)
class Crew:
    """One miner's labellers: human ``skills``, or a ``strategy`` (``source`` = the miner a copier resells)."""

    strategy: Strategy = Strategy.human
    skills: tuple[Skill, ...] = ()
    source: int | None = None

    @classmethod
    def of(cls, skills: Sequence[Skill]) -> Crew:
        """A crew of people."""
        return cls(Strategy.human, tuple(skills))

    @property
    def label(self) -> str:
        """``3×careful``, ``noisy, random, lazy``, ``lengthbot``, ``copier of miner0``."""
        if self.strategy is Strategy.copier:
            return f"copier of miner{self.source}"
        if self.strategy is not Strategy.human:
            return self.strategy.value
        if len(set(self.skills)) == 1:
            return f"{len(self.skills)}×{self.skills[0].value}"
        return ", ".join(s.value for s in self.skills)

    @property
    def spec(self) -> str:
        """The crew as ``--crews`` spells it."""
        if self.strategy is Strategy.copier:
            return f"copier:{self.source}"
        if self.strategy is not Strategy.human:
            return self.strategy.value
        return ",".join(s.value for s in self.skills)

    @property
    def quality(self) -> float | None:
        """Expected labelling quality: the mean of the people's (bots: 0, no signal); None for a copier."""
        if self.strategy is Strategy.copier:
            return None
        if self.strategy is not Strategy.human:
            return 0.0
        return sum(HUMAN_QUALITY[s] for s in self.skills) / len(self.skills)


# The first three are the demo's best, middling and bad crews. The middling crew is three noisy
# people: a crew with one noisy labeller among two random ones has so little signal that the
# lower confidence bound of its running score is 0 after a short demo, as it should be.
DEFAULT_CREWS: list[Crew] = [
    Crew.of([Skill.careful, Skill.careful, Skill.careful]),
    Crew.of([Skill.noisy, Skill.noisy, Skill.noisy]),
    Crew.of([Skill.adversarial, Skill.random, Skill.lazy]),
    Crew.of([Skill.careful, Skill.careful, Skill.random]),
    Crew.of([Skill.random, Skill.random, Skill.lazy]),
]

CREWS_HELP = (
    "Each miner's crew, miners separated by ';'. A crew is comma-separated labeller skills "
    "(careful, noisy, random, adversarial, lazy) or one cheating strategy: 'lengthbot' (scores answers "
    "by document size), 'copier:N' (resells miner N's crew to this hotkey, one score moved by ±1), "
    "'colluder' (all colluders answer one shared pattern). E.g. 'careful,careful,careful;lengthbot;copier:0;"
    "colluder;colluder'. With --crews and no --miners there is one miner per crew."
)


def parse_one(text: str) -> Crew:
    """One crew from its ``--crews`` spelling; a ValueError that says what was expected."""
    name = text.strip().lower()
    if name.startswith("copier"):
        rest = name[len("copier") :].strip()
        if not rest.startswith(":") or not rest[1:].strip().isdigit():
            raise ValueError(f"{text.strip()!r}: a copier names the miner it resells, e.g. 'copier:0'")
        return Crew(Strategy.copier, source=int(rest[1:]))
    if name in (Strategy.lengthbot.value, Strategy.colluder.value):
        return Crew(Strategy(name))
    try:
        return Crew.of(parse_crew(name))
    except ValueError as exc:
        raise ValueError(f"{exc}, or a strategy: lengthbot, copier:N, colluder") from None


def parse_crews(text: str) -> list[Crew]:
    """``"careful,careful;lengthbot;copier:0"`` → crews, one per miner."""
    if not text.strip():
        raise ValueError("no crew given")
    return [parse_one(part) for part in text.split(";")]


def check_crews(crews: Sequence[Crew]) -> None:
    """Each copier must resell another miner of the network that is not itself a copier."""
    for i, crew in enumerate(crews):
        if crew.strategy is not Strategy.copier:
            continue
        n = crew.source
        assert n is not None
        if not 0 <= n < len(crews):
            raise ValueError(f"miner{i} is 'copier:{n}' but the miners are 0..{len(crews) - 1}")
        if n == i:
            raise ValueError(f"miner{i} is 'copier:{n}': a copier cannot resell itself")
        if crews[n].strategy is Strategy.copier:
            raise ValueError(f"miner{i} is 'copier:{n}' but miner{n} is itself a copier; name a miner with a crew")


def crew_size(crews: Sequence[Crew], i: int) -> int:
    """How many labeller accounts miner ``i`` runs."""
    crew = crews[i]
    if crew.strategy is Strategy.human:
        return len(crew.skills)
    if crew.strategy is Strategy.copier:
        assert crew.source is not None
        return crew_size(crews, crew.source)
    return 1


# -- brains --------------------------------------------------------------------------------------


class Brain(Protocol):
    """Turns a task a labeller was shown into its answer; None = not now (asked again next pass)."""

    @property
    def kind(self) -> str:
        """What it is, for names and logs: a skill or a strategy."""
        ...

    def answer(self, view: TaskView, created_at: datetime, expire_at: datetime) -> Answer | None:
        """The answer to ``view`` (a copy created at ``created_at``, due at ``expire_at``), or None for not yet."""
        ...


@dataclass
class ResaleBoard:
    """What each resold miner's crew submitted, by miner: the reseller's own books."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _tasks: dict[int, dict[str, tuple[datetime, TaskView, list[Answer]]]] = field(default_factory=dict)

    def publish(self, miner: int, task_id: str, view: TaskView, answer: Answer) -> None:
        """Record one of ``miner``'s crew's submissions on its task ``task_id``."""
        with self._lock:
            tasks = self._tasks.setdefault(miner, {})
            when, _, answers = tasks.get(task_id, (datetime.now(timezone.utc), view, []))
            tasks[task_id] = (when, view, [*answers, answer])

    def sold(self, miner: int, since: datetime) -> list[SoldTask]:
        """``miner``'s tasks first answered at or after ``since``, oldest first."""
        with self._lock:
            rows = sorted(self._tasks.get(miner, {}).values(), key=lambda r: r[0])
            return [SoldTask(view, tuple(answers)) for when, view, answers in rows if when >= since]


@dataclass
class HumanBrain:
    """A person: looks at the answers (the oracle) and scores them as its skill allows."""

    skill: Skill
    oracle: Oracle
    rng: random.Random

    @property
    def kind(self) -> str:
        return self.skill.value

    def answer(self, view: TaskView, created_at: datetime, expire_at: datetime) -> Answer | None:
        ranks = self.oracle(view.ids)
        if ranks is None:
            return None  # the validator has not stored this copy yet; next pass
        return strategies.human(self.skill, view, ranks, self.rng)


@dataclass
class LengthBrain:
    """The length bot."""

    kind: str = "lengthbot"

    def answer(self, view: TaskView, created_at: datetime, expire_at: datetime) -> Answer | None:
        return strategies.lengthbot(view)


@dataclass
class ColluderBrain:
    """Colluder number ``member``."""

    member: int
    kind: str = "colluder"

    def answer(self, view: TaskView, created_at: datetime, expire_at: datetime) -> Answer | None:
        return strategies.colluder(view, self.member)


@dataclass
class CopierBrain:
    """Resells answer ``slot`` of miner ``source``'s crew.

    It waits for the source crew: until every one of its ``source_size`` labellers has answered a
    task with this very prompt, or — when no such task comes (each miner has its own instances) —
    until ``patience`` of the task's time has passed, then it resells the closest task it has.
    """

    board: ResaleBoard
    source: int
    source_size: int
    slot: int
    rng: random.Random
    patience: float = 0.5
    kind: str = "copier"

    def answer(self, view: TaskView, created_at: datetime, expire_at: datetime) -> Answer | None:
        life = max((expire_at - created_at).total_seconds(), 1.0)
        pool = self.board.sold(self.source, created_at - timedelta(seconds=life / 2))
        sold = strategies.match_task(view, pool)
        if sold is None:
            return None
        same = sold.view.prompt == view.prompt and len(sold.answers) >= self.source_size
        if not same and datetime.now(timezone.utc) < created_at + timedelta(seconds=self.patience * life):
            return None
        answers = strategies.resell(view, sold, self.rng)
        return answers[self.slot % len(answers)] if answers else None


def make_brains(crews: Sequence[Crew], i: int, oracle: Oracle, board: ResaleBoard, seed: int) -> list[Brain]:
    """The brains of miner ``i``'s labellers; ``seed`` makes their randomness reproducible."""
    crew = crews[i]
    if crew.strategy is Strategy.human:
        return [HumanBrain(skill, oracle, random.Random(seed + j)) for j, skill in enumerate(crew.skills)]
    if crew.strategy is Strategy.lengthbot:
        return [LengthBrain()]
    if crew.strategy is Strategy.colluder:
        return [ColluderBrain(member=i)]
    assert crew.source is not None
    size = crew_size(crews, crew.source)
    return [CopierBrain(board, crew.source, size, j, random.Random(seed + j)) for j in range(size)]


def publisher(crews: Sequence[Crew], i: int, board: ResaleBoard) -> Callable[[str, TaskView, Answer], None] | None:
    """For a miner some copier resells: what its labellers call after each accepted submission."""
    if not any(c.strategy is Strategy.copier and c.source == i for c in crews):
        return None

    def publish(task_id: str, view: TaskView, answer: Answer) -> None:
        board.publish(i, task_id, view, answer)

    return publish
