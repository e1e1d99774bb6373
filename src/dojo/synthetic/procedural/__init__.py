"""The procedural generator: real interactive programs from parameterised templates, offline.

``generate_task(seed)`` is deterministic: the same seed gives the same task, byte for byte
(task id, completion ids, documents, ground truth). A seed picks a program family, samples its
parameters, picks which of its features the prompt requests, and builds every answer along the
degradation ladder (:mod:`dojo.synthetic.ladder`). Any feature of the family may be requested
(``features(p)`` and ``extras(p)`` alike), so which features are on says nothing without the prompt.

One program, many configurations (every family is a :class:`Family`)
--------------------------------------------------------------------
Every answer of a task is THE SAME program text; answers differ only in their configuration
block ``C`` (:mod:`dojo.synthetic.surface`: encoded, padded to a random length), so nothing in a
document's text — size, compressed size, counts, diff against the other answers — tells its rung.

* ``family.template(p)`` is the one program: the markup and code of EVERY feature the family has
  (requested and unrequested ones), no requested value as a literal, the same text for
  every task. ``page.program`` puts :data:`dojo.synthetic.surface.MARKER` (where each answer's
  configuration element goes) and :data:`page.RUNTIME` (:data:`dojo.synthetic.surface.PRELUDE`:
  ``const C = <decode it>`` and the flag helpers) in it; the
  runtime also gives the script ``on(k)`` (feature ``k`` is on), ``live(k)`` (on and not broken),
  ``bind(k, id, event, fn)`` (a handler that runs only while ``live(k)``), ``onKey(k, param, fn)``
  (a shortcut whose key is ``C.p[param]``) and ``range(id, lo, hi, step, value)``.
* Controls are in the markup of every answer (``page.gated_button`` / ``gated_slider`` /
  ``gated_readout`` mark them ``data-gate="<feature>"``); at start-up the runtime removes those
  of features that are off, so each rung's page looks like a program that simply has or lacks
  that control. A broken action keeps its control; its handler does nothing (same code
  everywhere, ineffective because ``live(k)`` is false).
* Every value the script uses comes from ``C.p`` = ``family.runtime(p)`` (sizes, colours via
  CSS variables, counts, speeds, keys, the title).
* ``family.drifts(p)`` declares which parameters a rung may set to a clearly wrong value and how
  a browser observes the value (:class:`Drift`); each feature's ``probe`` says how a browser sees
  that it is on. A wrong value is drawn among the values the family's prompts ask for
  (:func:`drift_supports`), at least :data:`page.MIN_RATIO` times off for a number.
* ``family.config`` gives the logical configuration ``{"on": {feature: bool}, "broken": {action:
  bool}, "p": {...}}`` over every feature of the family; the page holds it opaque
  (``{"f": slots, "s": salt, "p": ...}``, :mod:`dojo.synthetic.surface`) and reads the flags only
  through ``on``/``live``.

Contract for browser tests (obfuscation, validator, e2e)
-------------------------------------------------------
* Every document exposes ``window.__dojoState()``: a JSON-serialisable object of discrete state
  driven only by user actions (counts, toggles, settings), never by elapsed time — load a page,
  perform the same actions, and two copies of one document report the same state. Actions with
  ``timed=True`` (e.g. a Play button) start time-driven behaviour; compare state only before
  them or skip them.
* Controls have stable ids prefixed ``dojo-`` (``#dojo-canvas``, ``#dojo-pause``, …). Each task's
  ``metadata["actions"]`` lists the user actions of its faithful answer — first those on controls
  every answer has (``family.core_actions``), then the requested ones in prompt order — and
  ``actions_for(task)`` / ``family.features(params)`` give them as :class:`Action` objects:
  ``(description, selector, kind, value, timed)`` with ``kind`` one of ``click``, ``fill``
  (set an input's value, then fire ``input`` and ``change``), ``press`` (a key on the page) and
  ``click-at`` (click ``selector`` at offset ``"x,y"``). On a degraded answer a control may be
  missing (skip the action) or present but dead (the state then differs from the base).
* ``metadata["ladder"]`` records for each completion id its step, the rung's meaning, and the
  features ``swapped`` ([requested, unrequested] pairs), parameters ``drifted`` ({param,
  requested, given}), actions ``broken``, and features ``removed``/``added`` against the faithful
  answer.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from dojo.synthetic.ladder import Degradation, Item, LadderError, plan
from dojo.synthetic.models import SyntheticTask, assemble_task
from dojo.synthetic.procedural.arcade import ArcadeGame
from dojo.synthetic.procedural.automaton import CellularAutomaton
from dojo.synthetic.procedural.base import Action, Drift, Family, Feature
from dojo.synthetic.procedural.chart import DataChart
from dojo.synthetic.procedural.drawing import DrawingTool
from dojo.synthetic.procedural.orbit import OrbitSimulation
from dojo.synthetic.procedural.page import Support, wrong_value
from dojo.synthetic.procedural.particles import ParticleSystem
from dojo.synthetic.procedural.physics import PhysicsSandbox
from dojo.synthetic.procedural.sorting import SortingVisualiser
from dojo.synthetic.surface import install, seal

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        PhysicsSandbox(),
        ParticleSystem(),
        OrbitSimulation(),
        SortingVisualiser(),
        ArcadeGame(),
        DrawingTool(),
        CellularAutomaton(),
        DataChart(),
    )
}

__all__ = [
    "FAMILIES",
    "Action",
    "Drift",
    "Family",
    "Feature",
    "actions_for",
    "generate_task",
]


def _request(features: list[Feature], rng: random.Random) -> list[Feature]:
    """The subset a prompt asks for: 3–4 user actions and 2–3 other features, kept in family order.

    ``features`` is every feature of the family (``features(p) + extras(p)``): any of them may be
    requested, so that a feature being on says nothing about the rung without the prompt.
    """
    acts = [f for f in features if f.is_action]
    plain = [f for f in features if not f.is_action]
    chosen = set(f.key for f in rng.sample(acts, min(len(acts), rng.randint(3, 4))))
    chosen |= set(f.key for f in rng.sample(plain, min(len(plain), rng.randint(2, 3))))
    by_key = {f.key: f for f in features}
    for key in list(chosen):
        chosen.update(by_key[key].requires)
    return [f for f in features if f.key in chosen]


def write_prompt(family: Family, params: dict[str, Any], requested: list[Feature]) -> str:
    """The prompt, written from the parameters, with its "Features" and "User actions" sections."""
    lines = [
        f"Write one self-contained HTML page (inline CSS and JavaScript only, no external files or network "
        f"requests) with {family.summary(params)}.",
        "",
        "Features:",
    ]
    lines += [f"- {f.text}" for f in requested if not f.is_action]
    lines += ["", "User actions:"]
    lines += [f"- {f.text}" for f in requested if f.is_action]
    return "\n".join(lines) + "\n"


#: Tasks sampled (once per process and family) to learn the values each drifting parameter takes.
SUPPORT_SAMPLES = 400
_SUPPORTS: dict[str, dict[str, Support]] = {}


def drift_supports(fam: Family) -> dict[str, Support]:
    """What each parameter ``fam`` may drift takes over many sampled tasks, by drift name (``param[]`` pools a list).

    A wrong value is drawn from it (:func:`page.wrong_value`), so a drifted answer's values look
    like values a prompt of the family could have asked for.
    """
    cached = _SUPPORTS.get(fam.name)
    if cached is None:
        samples: dict[str, list[Any]] = defaultdict(list)
        for i in range(SUPPORT_SAMPLES):
            p = fam.sample(random.Random(f"dojo-support|{fam.name}|{i}"))
            for d in fam.drifts(p):
                samples[d.name].append(d.get(p))
                if d.index is not None:
                    samples[d.param + "[]"].append(d.get(p))
        cached = {name: sup for name, values in samples.items() if (sup := Support.of(values)) is not None}
        _SUPPORTS[fam.name] = cached
    return cached


def _template_answers(
    fam: Family, params: dict[str, Any], features: list[Feature], n: int, rng: random.Random
) -> tuple[list[Feature], list[Degradation], list[str]]:
    drifts = {d.name: d for d in fam.drifts(params)}
    taken_keys = [v for k, v in params.items() if k.endswith("_key")]
    supports = drift_supports(fam)

    def wrong(name: str) -> tuple[Any, Any]:
        d = drifts[name]
        value = d.get(params)
        support = supports.get(name) or supports.get(d.param + "[]")
        avoid = taken_keys if d.kind == "key" else ()
        return value, wrong_value(d.kind, value, rng, avoid=avoid, support=support, bounds=d.bounds)

    every = features + fam.extras(params)
    for _ in range(20):
        requested = _request(every, rng)
        asked = {f.key for f in requested}
        try:
            steps = plan(
                [Item(f.key, f.is_action, f.requires) for f in requested],
                [Item(f.key, f.is_action, f.requires) for f in every if f.key not in asked],
                [(d.name, d.feature) for d in drifts.values()],
                n,
                rng,
                wrong,
            )
        except LadderError:
            continue
        break
    else:
        raise LadderError(f"{fam.name}: no request of its features carries the ladder")
    configs = []
    for deg in steps:
        p = params
        for d in deg.drifted:
            p = drifts[d.param].put(p, d.given)
        on = frozenset(asked - set(deg.removed) | set(deg.added))
        configs.append(fam.config(p, on, frozenset(deg.broken)))
    template = fam.template(params)
    return requested, steps, [install(template, expression) for expression in seal(configs, rng)]


def generate_task(seed: int, n_responses: int = 4, family: str | None = None) -> SyntheticTask:
    """A complete task for ``seed``: deterministic, offline, every document valid by construction.

    ``family`` pins the program family (a key of :data:`FAMILIES`); by default the seed picks it.
    """
    rng = random.Random(seed)
    picked = rng.choice(sorted(FAMILIES))
    if family is not None:
        if family not in FAMILIES:
            raise ValueError(f"unknown procedural family {family!r}; expected one of {', '.join(sorted(FAMILIES))}")
        picked = family
    fam = FAMILIES[picked]
    params = fam.sample(rng)
    features = fam.features(params)
    requested, steps, contents = _template_answers(fam, params, features, n_responses, rng)
    return assemble_task(
        rng,
        steps,
        contents,
        f"procedural/{fam.name}",
        write_prompt(fam, params, requested),
        {
            "generator": "procedural",
            "family": fam.name,
            "seed": seed,
            "params": params,
            "requested": [f.key for f in requested],
            "actions": [_action_dict(a) for a in fam.core_actions(params)]
            + [_action_dict(f.action) for f in requested if f.action is not None],
            "tokens": {"prompt": 0, "completion": 0},
            "cost_usd": 0.0,
        },
    )


def _action_dict(a: Action) -> dict[str, Any]:
    return {"description": a.description, "selector": a.selector, "kind": a.kind, "value": a.value, "timed": a.timed}


def actions_for(task: SyntheticTask) -> list[Action]:
    """The user actions of a procedural task's faithful answer, in prompt order."""
    return [Action(**a) for a in task.metadata.get("actions", [])]
