"""Every rung of the ladder differs from the faithful answer in a browser the way its ladder entry says.

For each converted family (every :class:`TemplateFamily`; a family is covered as soon as it is
converted), several 5-answer tasks, and each answer in Debian's Chromium:

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

import base64
import math
from collections.abc import Iterator
from typing import Any

import pytest

from dojo.synthetic.procedural import FAMILIES, Action, Feature, TemplateFamily, generate_task

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.browser

TEMPLATED = sorted(name for name, f in FAMILIES.items() if isinstance(f, TemplateFamily))
SEEDS = range(3)

SETTLE = "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(r))))"

# One user action inside the page (synthetic DOM events, as a user's would arrive); false when its control is absent.
ACT = """(a) => {
  const el = a.selector === "body" ? document.body : document.querySelector(a.selector);
  if (!el) return false;
  if (a.kind === "click") el.click();
  else if (a.kind === "fill") {
    el.value = a.value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
  } else if (a.kind === "press") {
    document.dispatchEvent(new KeyboardEvent("keydown", { key: a.value, bubbles: true }));
    document.dispatchEvent(new KeyboardEvent("keyup", { key: a.value, bubbles: true }));
  } else if (a.kind === "click-at") {
    const rc = el.getBoundingClientRect();
    const [x, y] = a.value.split(",").map(Number);
    const at = { clientX: rc.left + x, clientY: rc.top + y, bubbles: true, buttons: 1 };
    for (const type of ["pointerdown", "mousedown", "pointerup", "mouseup", "click"]) {
      el.dispatchEvent(type.startsWith("pointer") ? new PointerEvent(type, at) : new MouseEvent(type, at));
    }
  }
  return true;
}"""


class Page:
    """One Chromium tab; every load is a fresh document (a navigation gives it a fresh JS realm)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)

    def load(self, html: str) -> None:
        self.page.goto("data:text/html;base64," + base64.b64encode(html.encode()).decode())
        self.page.evaluate(SETTLE)

    def eval(self, expression: str) -> Any:
        return self.page.evaluate(f"() => ({expression})")

    def act(self, action: Action) -> bool:
        return bool(self.page.evaluate(ACT, {"selector": action.selector, "kind": action.kind, "value": action.value}))

    def state(self) -> Any:
        return self.page.evaluate("window.__dojoState()")


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        yield Page(b.new_page())
        b.close()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return bool(a == b)


SHARED = ("body", "#dojo-canvas")  # selectors every answer has: what acts on them is seen by acting


def _shows(page: Page, f: Feature) -> bool | None:
    """Does the page show the feature on? None for an action on a shared control (seen by acting)."""
    if f.probe is not None:
        return bool(page.eval(f"!!({f.probe})"))
    assert f.action is not None, f"{f.key}: a display feature needs a probe"
    if f.action.selector in SHARED:
        return None
    return bool(page.eval(f"document.querySelector({f.action.selector!r}) !== null"))


def _acts(page: Page, action: Action) -> bool:
    """Does the action change the state? (the control absent: no)."""
    before, done, after = page.page.evaluate(
        f"(a) => {{ const before = window.__dojoState(); const done = ({ACT})(a); return [before, done, window.__dojoState()]; }}",
        {"selector": action.selector, "kind": action.kind, "value": action.value},
    )
    return bool(done) and after != before


@pytest.mark.parametrize("family", TEMPLATED)
def test_each_rung_differs_from_the_faithful_answer_as_its_ladder_says(page: Page, family: str) -> None:
    fam = FAMILIES[family]
    assert isinstance(fam, TemplateFamily)
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
            page.load(html)
            for key, f in every.items():
                shown = _shows(page, f)
                assert shown in (None, key in on), f"{where}: {key} should be {'on' if key in on else 'off'}"
            keyed = []
            for name, d in drifts.items():
                if d.feature is not None and (d.feature not in on or d.feature in broken):
                    continue
                if d.kind == "key":
                    keyed.append(d)
                    continue
                want = given.get(name, d.get(params))
                got = page.eval(d.observe)
                assert _same(got, want), f"{where}: {name} renders {got!r}, expected {want!r}"
            assert page.errors == [], f"{where}: {page.errors}"

            # what the user actions do, one after the other on a fresh load
            page.load(html)
            for key, f in every.items():
                if f.action is None:
                    continue
                # a shortcut whose key drifted does nothing on the prompt's key (the key check is below)
                rekeyed = any(d.kind == "key" and d.feature == key and name in given for name, d in drifts.items())
                works = key in on and key not in broken and not rekeyed
                assert _acts(page, f.action) == works, f"{where}: {key} should {'work' if works else 'do nothing'}"
                if key in broken:
                    assert _shows(page, f) is not False, f"{where}: broken {key} lost its control"

            # a drifted key: the prompt's key does nothing, the given key does the job
            for d in keyed:
                page.load(html)
                before = page.eval(d.observe)
                page.act(Action("press the prompt's key", "body", "press", d.get(params)))
                after_prompt_key = page.eval(d.observe)
                if d.name in given:
                    assert after_prompt_key == before, f"{where}: drifted {d.name}, the prompt's key still works"
                    page.act(Action("press the given key", "body", "press", given[d.name]))
                    assert page.eval(d.observe) != before, f"{where}: drifted {d.name}, the given key does nothing"
                else:
                    assert after_prompt_key != before, f"{where}: {d.name} does nothing"
            assert page.errors == [], f"{where}: {page.errors}"
