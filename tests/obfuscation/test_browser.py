"""The obfuscated copy behaves like the original in a real browser: same actions, same observable state."""

from __future__ import annotations

from typing import Any

import pytest

from dojo.obfuscation import obfuscate_html
from dojo.synthetic.procedural import Action, actions_for
from obfuscation.conftest import CSP, Browser
from obfuscation.helpers import SAMPLE_ACTIONS, one_task_per_family, sample
from support import wait_until

pytestmark = pytest.mark.browser

# What a page shows, beyond its own __dojoState(): the DOM with code text and handler attributes
# blanked (they are what obfuscation rewrites), and document-level facts the loader must not change.
OBSERVE = """() => {
  const root = document.documentElement.cloneNode(true);
  for (const s of root.querySelectorAll("script")) s.textContent = "";
  for (const el of root.querySelectorAll("*")) {
    for (const a of Array.from(el.attributes)) {
      if (a.name.startsWith("on") || /^\\s*javascript:/i.test(a.value)) el.setAttribute(a.name, "");
    }
  }
  return {
    state: typeof window.__dojoState === "function" ? window.__dojoState() : null,
    dom: root.outerHTML,
    doctype: document.doctype && document.doctype.name, mode: document.compatMode,
    charset: document.characterSet, title: document.title, scripts: document.scripts.length,
    ready: document.readyState, text: document.body ? document.body.innerText : null,
  };
}"""


def perform(page: Any, kind: str, selector: str, value: str | None, settled: str | None = None) -> bool:
    """One user action; False when its control is absent (a feature removed from that answer).

    ``settled``: a JS condition that holds once an action with an asynchronous effect (following
    a ``javascript:`` link) has taken effect; waited for with a deadline.
    """
    if selector != "body" and page.locator(selector).count() == 0:
        return False
    if kind == "click":
        page.click(selector)
    elif kind == "fill":
        page.eval_on_selector(
            selector,
            """(el, v) => { el.value = v; el.dispatchEvent(new Event("input", {bubbles: true}));
                            el.dispatchEvent(new Event("change", {bubbles: true})); }""",
            value,
        )
    elif kind == "press":
        assert value, "a press action names its key in value"
        page.keyboard.press(value)
    elif kind == "click-at":
        x, y = (float(v) for v in (value or "0,0").split(","))
        page.click(selector, position={"x": x, "y": y})
    else:
        raise AssertionError(f"unknown action kind {kind!r}")
    if settled:
        wait_until(lambda: page.evaluate(settled), timeout=10, what=settled)
    return True


Step = tuple[Any, ...]  # (kind, selector, value[, settled condition])


def sample_actions(name: str) -> list[Step]:
    return [tuple(a) + (None,) * (3 - len(a)) for a in SAMPLE_ACTIONS[name]]


def session(browser: Browser, name: str, html: str, actions: list[Step], csp: bool = True) -> dict[str, Any]:
    """Load ``html``, observe, do every action observing after each; the whole transcript."""
    browser.load(name, html, csp=csp)
    browser.advance()
    steps = [browser.page.evaluate(OBSERVE)]
    done = []
    for step in actions:
        done.append(perform(browser.page, *step))
        browser.advance()
        steps.append(browser.page.evaluate(OBSERVE))
    foreign = [u for u in browser.requests if not u.startswith(("http://dojo.test/", "data:", "about:"))]
    return {"steps": steps, "done": done, "errors": len(browser.errors), "foreign": foreign}


def _untimed(actions: list[Action]) -> list[Step]:
    return [(a.kind, a.selector, a.value) for a in actions if not a.timed]


def assert_same(
    browser: Browser, label: str, html: str, actions: list[Step], seed: int, csp: bool = True
) -> dict[str, Any]:
    """Original and obfuscated copy give the same transcript; returns the copy's."""
    original = session(browser, f"original/{label}", html, actions, csp)
    copy = session(browser, f"copy/{label}", obfuscate_html(html, seed), actions, csp)
    assert original["errors"] == 0, f"{label}: the original itself reports errors"
    assert original["foreign"] == [] and copy["foreign"] == []
    assert copy["errors"] == 0, f"{label}: the obfuscated copy reports errors"
    assert copy["done"] == original["done"], f"{label}: controls differ"
    for i, (a, b) in enumerate(zip(original["steps"], copy["steps"], strict=True)):
        assert b == a, f"{label}: observable state differs after {i} action(s)"
    return copy


def _counter_exercised(run: dict[str, Any]) -> None:
    assert all(run["done"])
    first, last = run["steps"][0]["state"], run["steps"][-1]["state"]
    assert first["loaded"] is True and first["ticks"] == 1 and first["headSawBody"] is False
    assert last["count"] != first["count"] and last["history"] == ["plus"] and last["keys"] == ["k"]
    assert last["step"] == 3 and last["preview"] == "step=3" and last["scripts"] == 2
    assert run["steps"][0]["doctype"] == "html" and run["steps"][0]["mode"] == "CSS1Compat"


def _strings_exercised(run: dict[str, Any]) -> None:
    # The buttons built with innerHTML call a global from their onclick; the string timer ran.
    assert run["steps"][-1]["state"] == {"chosen": ["green", "red", "green"], "ticks": 1}


def _shadowing_exercised(run: dict[str, Any]) -> None:
    # reset()/clear() in a handler reach the form and the document, never the globals of those names.
    after_wipe = run["steps"][2]["state"]
    assert after_wipe["amount"] == "5" and after_wipe["resets"] == 0 and after_wipe["log"] == ["wipe"]
    last = run["steps"][-1]["state"]
    assert last["clears"] == 0 and last["own"] == 2 and last["log"] == ["wipe", "clearer", "own", "own"]


#: What each sample's actions must visibly do, so that "same state" cannot pass vacuously.
EXERCISED = {
    "counter.html": _counter_exercised,
    "strings.html": _strings_exercised,
    "shadowing.html": _shadowing_exercised,
}


@pytest.mark.parametrize("name", sorted(SAMPLE_ACTIONS))
def test_samples_behave_the_same(browser: Browser, name: str) -> None:
    # Without the UI's policy, so that the old-style string timers of strings.html run too.
    copy = assert_same(browser, name, sample(name), sample_actions(name), seed=21, csp=False)
    if name in EXERCISED:
        EXERCISED[name](copy)
    else:
        assert copy["steps"][-1]["state"] != copy["steps"][0]["state"], f"{name}: the actions changed nothing"


FAMILY_TASKS = one_task_per_family()


@pytest.mark.parametrize("index", range(len(FAMILY_TASKS)), ids=[t.metadata["family"] for t in FAMILY_TASKS])
def test_generator_families_behave_the_same(browser: Browser, index: int) -> None:
    """Every answer of each family's task: all are one program that differs only in its encoded
    configuration block, which the copy must decode to the same behaviour."""
    task = FAMILY_TASKS[index]
    actions = _untimed(actions_for(task))
    assert actions, "a family without untimed actions proves nothing"
    for response in sorted(task.responses, key=lambda r: r.ladder_step):
        label = f"{task.metadata['family']}-{response.ladder_step}"
        assert_same(browser, label, response.content, actions, seed=response.ladder_step + 100 * index)


def test_compressed_copy_behaves_the_same(browser: Browser) -> None:
    for name in ("counter.html",):
        actions = sample_actions(name)
        html = sample(name)
        original = session(browser, f"original/{name}", html, actions)
        copy = session(browser, f"compressed/{name}", obfuscate_html(html, 5, compress=True), actions)
        assert copy["errors"] == 0 and copy["steps"] == original["steps"]


def test_copy_in_a_sandboxed_frame_behaves_the_same(browser: Browser) -> None:
    """How the labelling UI shows a response: srcdoc in a sandboxed iframe (scripts, no same origin)."""
    html = sample("counter.html")
    states = []
    for label, doc in (("original", html), ("copy", obfuscate_html(html, 8))):
        browser.load(
            f"frame/{label}",
            '<!DOCTYPE html><iframe id="f" sandbox="allow-scripts" style="width:600px;height:600px"></iframe>',
        )
        framed = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' + doc
        browser.page.eval_on_selector("#f", "(f, d) => { f.srcdoc = d; }", framed)
        frame = browser.page.frame_locator("#f")
        frame.locator("#plus").click()
        frame.locator("#minus").click()
        frame.locator("#plus").click()
        browser.advance()
        child = browser.page.frames[1]
        state = child.evaluate("window.__dojoState()")
        states.append(state)
        assert browser.errors == []
    assert states[0] == states[1] and states[0]["history"] == ["plus", "minus", "plus"]


def test_the_comparison_catches_a_changed_behaviour(browser: Browser) -> None:
    """The harness is not vacuous: a copy whose one handler does something else is caught."""
    html = sample("counter.html")
    actions = sample_actions("counter.html")
    changed = html.replace('onclick="incrementCounter(1);', 'onclick="incrementCounter(2);')
    assert changed != html
    with pytest.raises(AssertionError, match="observable state differs"):
        original = session(browser, "original/changed", html, actions)
        copy = session(browser, "copy/changed", obfuscate_html(changed, 4), actions)
        for i, (a, b) in enumerate(zip(original["steps"], copy["steps"], strict=True)):
            assert b == a, f"observable state differs after {i} action(s)"
