"""Every rung of the ladder differs from the faithful answer in a browser the way its ladder entry says.

For each family, several 5-answer tasks, and each answer in Debian's Chromium (the shared tab of
:mod:`synthetic.chromium`, which also fails on any request a page makes):

* every feature that is on shows as on (its ``probe``, or its control in the DOM) and every
  feature that is off does not — so a swapped-in feature is visibly there and the requested one
  it replaced is not;
* every user action that is on and not broken changes ``__dojoState()``; a broken one keeps its
  control but changes nothing; an action of a feature that is off changes nothing;
* every parameter the family may drift renders with the requested value, except the drifted
  one, which renders with the wrong value (a drifted key: the prompt's key does nothing, the
  other one does what the prompt's key should);
* so the faithful answer does what the prompt asks.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from dojo.synthetic.procedural import FAMILIES, Action, Feature, generate_task
from synthetic.chromium import ACT, Tab, action_arg

pytestmark = pytest.mark.browser

FAMILY_NAMES = sorted(FAMILIES)
SEEDS = range(3)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return bool(a == b)


SHARED = ("body", "#dojo-canvas")  # selectors every answer has: what acts on them is seen by acting


def _shows(tab: Tab, f: Feature) -> bool | None:
    """Does the page show the feature on? None for an action on a shared control (seen by acting)."""
    if f.probe is not None:
        return bool(tab.eval(f"!!({f.probe})"))
    assert f.action is not None, f"{f.key}: a display feature needs a probe"
    if f.action.selector in SHARED:
        return None
    return bool(tab.eval(f"document.querySelector({f.action.selector!r}) !== null"))


def _acts(tab: Tab, action: Action) -> bool:
    """Does the action change the state? (the control absent: no)."""
    before, done, after = tab.page.evaluate(
        f"(a) => {{ const before = window.__dojoState(); const done = ({ACT})(a); return [before, done, window.__dojoState()]; }}",
        action_arg(action),
    )
    return bool(done) and after != before


@pytest.mark.parametrize("family", FAMILY_NAMES)
def test_each_rung_differs_from_the_faithful_answer_as_its_ladder_says(tab: Tab, family: str) -> None:
    fam = FAMILIES[family]
    for seed in SEEDS:
        task = generate_task(seed, n_responses=5, family=family)
        params = task.metadata["params"]
        asked = set(task.metadata["requested"])
        every = {f.key: f for f in fam.features(params) + fam.extras(params)}
        drifts = {d.name: d for d in fam.drifts(params)}
        docs = {str(r.completion_id): r.content for r in task.responses}
        for entry in sorted(task.metadata["ladder"], key=lambda e: e["step"]):
            where = f"{family} seed {seed} rung {entry['step']}"
            html = docs[entry["completion_id"]]
            on = (asked - set(entry["removed"])) | set(entry["added"])
            broken = set(entry["broken"])
            given = {d["param"]: d["given"] for d in entry["drifted"]}

            # what shows: features on, features off, drifted and faithful parameter values
            tab.load(html, settle=True)
            for key, f in every.items():
                shown = _shows(tab, f)
                assert shown in (None, key in on), f"{where}: {key} should be {'on' if key in on else 'off'}"
            keyed = []
            for name, d in drifts.items():
                if d.feature is not None and (d.feature not in on or d.feature in broken):
                    continue
                if d.kind == "key":
                    keyed.append(d)
                    continue
                want = given.get(name, d.get(params))
                got = tab.eval(d.observe)
                assert _same(got, want), f"{where}: {name} renders {got!r}, expected {want!r}"
            assert tab.errors == [], f"{where}: {tab.errors}"

            # what the user actions do, one after the other on a fresh load
            tab.load(html, settle=True)
            for key, f in every.items():
                if f.action is None:
                    continue
                # a shortcut whose key drifted does nothing on the prompt's key (the key check is below)
                rekeyed = any(d.kind == "key" and d.feature == key and name in given for name, d in drifts.items())
                works = key in on and key not in broken and not rekeyed
                assert _acts(tab, f.action) == works, f"{where}: {key} should {'work' if works else 'do nothing'}"
                if key in broken:
                    assert _shows(tab, f) is not False, f"{where}: broken {key} lost its control"

            # a drifted key: the prompt's key does nothing, the given key does the job
            for d in keyed:
                tab.load(html, settle=True)
                before = tab.eval(d.observe)
                tab.act(Action("press the prompt's key", "body", "press", d.get(params)))
                after_prompt_key = tab.eval(d.observe)
                if d.name in given:
                    assert after_prompt_key == before, f"{where}: drifted {d.name}, the prompt's key still works"
                    tab.act(Action("press the given key", "body", "press", given[d.name]))
                    assert tab.eval(d.observe) != before, f"{where}: drifted {d.name}, the given key does nothing"
                else:
                    assert after_prompt_key != before, f"{where}: {d.name} does nothing"
            assert tab.errors == [], f"{where}: {tab.errors}"
