"""What every procedural program family provides: its features, user actions and the parameters a rung may drift."""

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
    # A JS expression, truthy when the page shows this feature on (read by the
    # browser ladder test after the page has run a little). None: the action's control is in the DOM.
    probe: str | None = None

    @property
    def is_action(self) -> bool:
        return self.action is not None


DRIFT_KINDS = ("colour", "count", "key", "speed", "size")


@dataclass(frozen=True)
class Drift:
    """A parameter a ladder rung may set to a clearly wrong value, and how a browser sees its value.

    ``kind`` picks how the wrong value is drawn (:func:`dojo.synthetic.procedural.page.wrong_value`):
    a colour from a distinct palette, a count ×0.5 or ×2, another key, a speed ×0.4 or ×2.5, a
    size ×0.5 or ×2. ``observe`` is a JS expression evaluated in the loaded page that gives the
    value as the program uses it (a DOM attribute, a computed style, a ``__dojoState()`` field, a
    function of the program); for a ``key`` it gives the state that key toggles instead. ``feature``
    is the feature the parameter belongs to (None: the prompt's opening sentence, always on);
    ``index`` picks one element of a list parameter. ``bounds``: the range this task could have
    drawn the parameter from when it depends on other parameters (a wrong value stays inside it
    when it can); without it the range is learnt from the family's samples.
    """

    param: str
    kind: str
    observe: str
    feature: str | None = None
    index: int | None = None
    bounds: tuple[float, float] | None = None

    @property
    def name(self) -> str:
        """How the ladder names it: ``param`` or ``param[index]``."""
        return self.param if self.index is None else f"{self.param}[{self.index}]"

    def get(self, p: dict[str, Any]) -> Any:
        """The parameter's value in ``p``."""
        value = p[self.param]
        return value if self.index is None else value[self.index]

    def put(self, p: dict[str, Any], value: Any) -> dict[str, Any]:
        """A copy of ``p`` with this parameter set to ``value``."""
        out = dict(p)
        if self.index is None:
            out[self.param] = value
        else:
            seq = list(out[self.param])
            seq[self.index] = value
            out[self.param] = seq
        return out


class Family(ABC):
    """A kind of program whose answers are all one program, differing only in their configuration block.

    See the contract in :mod:`dojo.synthetic.procedural`. A subclass samples the parameters of a task
    (:meth:`sample`), writes the prompt's opening sentence (:meth:`summary`) and lists every feature a
    prompt may request (:meth:`features` + :meth:`extras`); it gives the program (:meth:`template`,
    holding :data:`dojo.synthetic.surface.MARKER` once), the values its script reads as ``C.p``
    (:meth:`runtime`), and the parameters the ladder may set wrong (:meth:`drifts`).
    """

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
        """More features, requested as often as the others (the family's own set is :meth:`features` + these).

        Kept apart for older consumers; a prompt may request any of them, and the ladder swaps an
        unrequested one in for a requested one of the same weight.
        """

    @abstractmethod
    def template(self, p: dict[str, Any]) -> str:
        """The one program of a task: every feature's markup and code, gated at run time by ``C``."""

    @abstractmethod
    def runtime(self, p: dict[str, Any]) -> dict[str, Any]:
        """``C.p``: every value the script reads (sizes, colours, counts, speeds, keys, labels)."""

    @abstractmethod
    def drifts(self, p: dict[str, Any]) -> list[Drift]:
        """The parameters a rung may set to a wrong value (see :class:`Drift`)."""

    def config(self, p: dict[str, Any], on: frozenset[str], broken: frozenset[str]) -> dict[str, Any]:
        """The logical configuration of one answer: ``{"on": …, "broken": …, "p": …}`` over every feature.

        :func:`dojo.synthetic.surface.seal` turns it into what the page holds (opaque flag slots).
        """
        every = self.features(p) + self.extras(p)
        return {
            "on": {f.key: f.key in on for f in every},
            "broken": {f.key: f.key in broken for f in every if f.is_action},
            "p": self.runtime(p),
        }
