"""Every family's answers load in a real browser without errors and respond to the documented actions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dojo.synthetic.models import SyntheticTask
from dojo.synthetic.procedural import FAMILIES, Action, actions_for, generate_task
from synthetic.chromium import ACT, Tab, action_arg

pytestmark = pytest.mark.browser


def _one_task_per_family() -> list[SyntheticTask]:
    found: dict[str, SyntheticTask] = {}
    seed = 500
    while len(found) < len(FAMILIES):
        task = generate_task(seed)
        found.setdefault(task.metadata["family"], task)
        seed += 1
    return [found[name] for name in sorted(found)]


def perform(page: Any, action: Action) -> bool:
    """Do one user action; False when its control is absent (a removed feature)."""
    if action.selector != "body" and page.locator(action.selector).count() == 0:
        return False
    if action.kind == "click":
        page.click(action.selector)
    elif action.kind == "fill":
        page.eval_on_selector(
            action.selector,
            """(el, v) => { el.value = v;
            el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); }""",
            action.value,
        )
    elif action.kind == "press":
        page.keyboard.press(action.value or "")
    elif action.kind == "click-at":
        x, y = (float(v) for v in (action.value or "0,0").split(","))
        page.click(action.selector, position={"x": x, "y": y})
    else:
        raise AssertionError(f"unknown action kind {action.kind}")
    return True


# Performs the actions inside the page in one round trip (synthetic DOM events, same order as a user's).
IN_PAGE = f"""async (actions) => {{
  const act = {ACT};
  const before = window.__dojoState();
  for (const a of actions) act(a);
  const after = window.__dojoState();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return [before, after];
}}"""


def run(
    tab: Tab, html: str, actions: list[Action], real_input: bool = False
) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """Load ``html`` in a fresh document, do the actions, let a frame run; (errors, state before, state after).

    ``real_input`` drives the actions with Playwright's trusted input, one round trip each; otherwise
    they run inside the page in one call.
    """
    page = tab.page
    tab.errors.clear()
    tab.load(html)
    todo = [a for a in actions if not a.timed]
    if real_input:
        before = page.evaluate("window.__dojoState()")
        for a in todo:
            perform(page, a)
        after = page.evaluate("window.__dojoState()")
        page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    else:
        before, after = page.evaluate(IN_PAGE, [action_arg(a) for a in todo])
    return list(tab.errors), before, after


def test_every_family_and_ladder_step_runs_without_errors(tab: Tab) -> None:
    for task in _one_task_per_family():
        actions = actions_for(task)
        by_step = sorted(task.responses, key=lambda r: r.ladder_step)
        results = [run(tab, r.content, actions) for r in by_step]
        family = task.metadata["family"]
        for r, (errors, _before, after) in zip(by_step, results, strict=True):
            assert errors == [], f"{family} step {r.ladder_step}: {errors}"
            json.dumps(after)
        base_before, base_after = results[0][1], results[0][2]
        assert base_after != base_before, f"{family}: the user actions changed nothing in the faithful answer"
        assert any(res[2] != base_after for res in results[1:]), f"{family}: no variant behaves differently"


def test_state_is_reproducible_across_loads_and_drivers(tab: Tab) -> None:
    for task in _one_task_per_family()[:2]:
        base = next(r.content for r in task.responses if r.ladder_step == 0)
        actions = actions_for(task)
        first = run(tab, base, actions, real_input=True)
        assert first[0] == [] and first[2] != first[1]
        assert run(tab, base, actions, real_input=True)[2] == first[2]
        assert run(tab, base, actions)[2] == first[2]  # the in-page driver does what a user does


def test_the_harness_sees_errors_and_network_requests(tab: Tab) -> None:
    bad = (
        "<!DOCTYPE html><html><body><img src='http://127.0.0.1:9/x.png'><script>"
        "window.__dojoState = () => ({}); null.boom;</script></body></html>"
    )
    errors, _, _ = run(tab, bad, [])
    assert any("pageerror" in e for e in errors) and any("request: http://127.0.0.1:9/x.png" in e for e in errors)
