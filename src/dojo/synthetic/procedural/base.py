"""What every procedural program family provides, and the flags a document is built from."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class Action:
    """How a browser test performs one user action on a document.

    ``kind`` is one of ``click`` (click ``selector``), ``fill`` (set the input ``selector`` to
    ``value`` and fire ``input``/``change``), ``press`` (press key ``value`` on the page) or
    ``click-at`` (click ``selector`` at the offset ``value`` = ``"x,y"`` in CSS pixels).
    """

    description: str
    selector: str
    kind: str
    value: str | None = None
    timed: bool = False  # starts something driven by elapsed time: state after it is not deterministic


@dataclass(frozen=True)
class Feature:
    """A requirement a prompt can ask for; user actions carry the :class:`Action` that drives them."""

    key: str
    text: str
    action: Action | None = None
    requires: tuple[str, ...] = ()  # features a prompt must also request for this one to make sense

    @property
    def is_action(self) -> bool:
        return self.action is not None


@dataclass(frozen=True)
class Build:
    """The flags a renderer reads: which features exist, which actions are dead, which extras exist."""

    present: frozenset[str]
    broken: frozenset[str] = frozenset()
    extras: frozenset[str] = frozenset()

    def has(self, key: str) -> bool:
        """The feature or extra is in the document (its control is shown, its code runs)."""
        return key in self.present or key in self.extras

    def works(self, key: str) -> bool:
        """The feature is in the document and its user action does what was asked."""
        return self.has(key) and key not in self.broken


class Family(ABC):
    """A kind of program. Subclasses sample parameters and render documents from :class:`Build` flags."""

    name: ClassVar[str]

    @abstractmethod
    def sample(self, rng: random.Random) -> dict[str, Any]:
        """Random parameters (sizes, colours, counts, speeds, keys), JSON-serialisable."""

    @abstractmethod
    def summary(self, p: dict[str, Any]) -> str:
        """The opening sentence of the prompt."""

    @abstractmethod
    def features(self, p: dict[str, Any]) -> list[Feature]:
        """Every feature a prompt may request, in prompt order."""

    def core_actions(self, p: dict[str, Any]) -> list[Action]:
        """User actions on controls every answer has (they are never removed or broken)."""
        return []

    @abstractmethod
    def extras(self, p: dict[str, Any]) -> list[Feature]:
        """Features a prompt never requests; the ladder may add one instead of a requested one."""

    @abstractmethod
    def render(self, p: dict[str, Any], build: Build) -> str:
        """The complete HTML document for these parameters and flags."""
