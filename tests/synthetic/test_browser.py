"""Every family's answers load in a real browser without errors and respond to the documented actions."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from dojo.synthetic.models import SyntheticTask
from dojo.synthetic.procedural import FAMILIES, Action, actions_for, generate_task

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.browser


def _one_task_per_family() -> list[SyntheticTask]:
    found: dict[str, SyntheticTask] = {}
    seed = 500
    while len(found) < len(FAMILIES):
        task = generate_task(seed)
        found.setdefault(task.metadata["family"], task)
        seed += 1
    return [found[name] for name in sorted(found)]


class Tab:
    """One browser page reused for many documents (a fresh JS realm per document via about:blank)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on(
            "request",
            lambda r: self.errors.append(f"request: {r.url}") if not r.url.startswith(("data:", "about:")) else None,
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Tab]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        yield Tab(b.new_page())
        b.close()


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
IN_PAGE = """async (actions) => {
  const before = window.__dojoState();
  for (const a of actions) {
    const el = a.selector === "body" ? document.body : document.querySelector(a.selector);
    if (!el) continue;
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
  }
  const after = window.__dojoState();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  return [before, after];
}"""


def run(
    tab: Tab, html: str, actions: list[Action], real_input: bool = False
) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """Load ``html`` in a fresh document, do the actions, let a frame run; (errors, state before, state after).

    ``real_input`` drives the actions with Playwright's trusted input, one round trip each; otherwise
    they run inside the page in one call.
    """
    page = tab.page
    tab.errors.clear()
    # A navigation gives every document a fresh JS realm (set_content would reuse the previous one).
    page.goto("data:text/html;base64," + base64.b64encode(html.encode()).decode())
    todo = [a for a in actions if not a.timed]
    if real_input:
        before = page.evaluate("window.__dojoState()")
        for a in todo:
            perform(page, a)
        after = page.evaluate("window.__dojoState()")
        page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    else:
        before, after = page.evaluate(
            IN_PAGE, [{"selector": a.selector, "kind": a.kind, "value": a.value} for a in todo]
        )
    return list(tab.errors), before, after


def test_every_family_and_ladder_step_runs_without_errors(browser: Tab) -> None:
    for task in _one_task_per_family():
        actions = actions_for(task)
        by_step = sorted(task.responses, key=lambda r: r.ladder_step)
        results = [run(browser, r.content, actions) for r in by_step]
        family = task.metadata["family"]
        for r, (errors, _before, after) in zip(by_step, results, strict=True):
            assert errors == [], f"{family} step {r.ladder_step}: {errors}"
            json.dumps(after)
        base_before, base_after = results[0][1], results[0][2]
        assert base_after != base_before, f"{family}: the user actions changed nothing in the faithful answer"
        assert any(res[2] != base_after for res in results[1:]), f"{family}: no variant behaves differently"


def test_state_is_reproducible_across_loads_and_drivers(browser: Tab) -> None:
    for task in _one_task_per_family()[:2]:
        base = next(r.content for r in task.responses if r.ladder_step == 0)
        actions = actions_for(task)
        first = run(browser, base, actions, real_input=True)
        assert first[0] == [] and first[2] != first[1]
        assert run(browser, base, actions, real_input=True)[2] == first[2]
        assert run(browser, base, actions)[2] == first[2]  # the in-page driver does what a user does


def test_the_harness_sees_errors_and_network_requests(browser: Tab) -> None:
    bad = (
        "<!DOCTYPE html><html><body><img src='http://127.0.0.1:9/x.png'><script>"
        "window.__dojoState = () => ({}); null.boom;</script></body></html>"
    )
    errors, _, _ = run(browser, bad, [])
    assert any("pageerror" in e for e in errors) and any("request: http://127.0.0.1:9/x.png" in e for e in errors)
