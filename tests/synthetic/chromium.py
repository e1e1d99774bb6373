"""One Chromium tab for the synthetic browser tests (``test_browser.py``, ``test_ladder_browser.py``).

The ``tab`` fixture (``conftest.py``) launches Debian's Chromium once per module; every document is
loaded by a navigation to a ``data:`` URL, so each gets a fresh JS realm. The tab records page
errors, console errors and every request that leaves the document (a generated page loads nothing).
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dojo.synthetic.procedural import Action

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

#: Resolves after three animation frames: the page's start-up code and first frames have run.
SETTLE = "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(r))))"

#: One user action inside the page (synthetic DOM events, as a user's would arrive); false when its control is absent.
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


def action_arg(action: Action) -> dict[str, Any]:
    """An action as :data:`ACT` takes it."""
    return {"selector": action.selector, "kind": action.kind, "value": action.value}


class Tab:
    """One Chromium page reused for many documents; ``errors`` collects what went wrong until cleared."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on(
            "request",
            lambda r: self.errors.append(f"request: {r.url}") if not r.url.startswith(("data:", "about:")) else None,
        )

    def load(self, html: str, settle: bool = False) -> None:
        """Navigate to ``html`` (a fresh document; ``set_content`` would reuse the previous realm)."""
        self.page.goto("data:text/html;base64," + base64.b64encode(html.encode()).decode())
        if settle:
            self.page.evaluate(SETTLE)

    def eval(self, expression: str) -> Any:
        """The value of a JS expression in the page."""
        return self.page.evaluate(f"() => ({expression})")

    def act(self, action: Action) -> bool:
        """Do one user action inside the page; False when its control is absent."""
        return bool(self.page.evaluate(ACT, action_arg(action)))

    def state(self) -> Any:
        """``window.__dojoState()``."""
        return self.page.evaluate("window.__dojoState()")


@contextmanager
def chromium_tab() -> Iterator[Tab]:
    """A headless Chromium with one :class:`Tab`, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--disable-gpu"])
        try:
            yield Tab(b.new_page())
        finally:
            b.close()
