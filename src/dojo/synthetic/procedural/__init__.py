"""The procedural generator: real interactive programs from parameterised templates, offline.

``generate_task(seed)`` is deterministic: the same seed gives the same task, byte for byte
(task id, completion ids, documents, ground truth). A seed picks a program family, samples its
parameters, picks which of its features the prompt requests, and builds every answer from
feature flags along the degradation ladder (:mod:`dojo.synthetic.ladder`).

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
* ``metadata["ladder"]`` records for each completion id its step and the features removed,
  broken and added.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from dojo.synthetic.ladder import LADDER, Degradation, plan
from dojo.synthetic.models import SyntheticResponse, SyntheticTask
from dojo.synthetic.procedural.arcade import ArcadeGame
from dojo.synthetic.procedural.automaton import CellularAutomaton
from dojo.synthetic.procedural.base import Action, Build, Family, Feature
from dojo.synthetic.procedural.chart import DataChart
from dojo.synthetic.procedural.drawing import DrawingTool
from dojo.synthetic.procedural.orbit import OrbitSimulation
from dojo.synthetic.procedural.particles import ParticleSystem
from dojo.synthetic.procedural.physics import PhysicsSandbox
from dojo.synthetic.procedural.sorting import SortingVisualiser

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
    "Build",
    "Family",
    "Feature",
    "actions_for",
    "build_for",
    "generate_task",
    "render_variant",
]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _request(features: list[Feature], rng: random.Random) -> list[Feature]:
    """The subset a prompt asks for: 3–4 user actions and 2–3 other features, kept in family order."""
    acts = [f for f in features if f.is_action]
    plain = [f for f in features if not f.is_action]
    chosen = set(f.key for f in rng.sample(acts, min(len(acts), rng.randint(3, 4))))
    chosen |= set(f.key for f in rng.sample(plain, min(len(plain), rng.randint(2, 3))))
    by_key = {f.key: f for f in features}
    for key in list(chosen):
        chosen.update(by_key[key].requires)
    return [f for f in features if f.key in chosen]


def build_for(requested: list[Feature], deg: Degradation) -> Build:
    """The feature flags of one answer on the ladder."""
    present = frozenset(f.key for f in requested) - set(deg.removed)
    return Build(present=present, broken=frozenset(deg.broken), extras=frozenset(deg.added))


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


def render_variant(family: Family, params: dict[str, Any], requested: list[Feature], deg: Degradation) -> str:
    """One answer's document."""
    return family.render(params, build_for(requested, deg))


def generate_task(seed: int, n_responses: int = 4) -> SyntheticTask:
    """A complete task for ``seed``: deterministic, offline, every document valid by construction."""
    rng = random.Random(seed)
    family = FAMILIES[rng.choice(sorted(FAMILIES))]
    params = family.sample(rng)
    features = family.features(params)
    requested = _request(features, rng)
    requested_keys = {f.key for f in requested}
    extras = [f.key for f in features if f.key not in requested_keys] + [f.key for f in family.extras(params)]
    steps = plan([f.key for f in requested], [f.key for f in requested if f.is_action], extras, n_responses, rng)
    model = f"procedural/{family.name}"
    responses = [
        SyntheticResponse(
            completion_id=_uuid(rng),
            content=render_variant(family, params, requested, deg),
            model=model,
            ladder_step=deg.step,
        )
        for deg in steps
    ]
    ladder = [
        {
            "completion_id": str(r.completion_id),
            "step": d.step,
            "meaning": LADDER[d.step].meaning,
            "removed": list(d.removed),
            "broken": list(d.broken),
            "added": list(d.added),
        }
        for r, d in zip(responses, steps, strict=False)
    ]
    truth = {r.completion_id: r.ladder_step for r in responses}
    rng.shuffle(responses)
    return SyntheticTask(
        task_id=_uuid(rng),
        prompt=write_prompt(family, params, requested),
        responses=responses,
        ground_truth=truth,
        metadata={
            "generator": "procedural",
            "family": family.name,
            "seed": seed,
            "params": params,
            "requested": [f.key for f in requested],
            "ladder": ladder,
            "model": model,
            "actions": [_action_dict(a) for a in family.core_actions(params)]
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
