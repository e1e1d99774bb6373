"""A real browser (Debian chromium driven by Playwright) that loads documents the way a labeller's would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ORIGIN = "http://dojo.test"
#: The policy the labelling UI puts on a framed response: inline code only, no loads, no eval.
CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"

# Both copies of a document must see the same "random" numbers: Math.random is replaced by a
# seeded generator before any of the page's scripts run (in every frame).
SEEDED_RANDOM = """(() => {
  let s = 0x2545F491;
  Math.random = function () {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
})();"""


class Browser:
    """Loads documents served from memory at ``http://dojo.test/<name>`` (never the network).

    Every load gets a fresh browser context whose clock is fake and paused at the same instant:
    time (Date, timers, animation frames) moves only when :meth:`advance` is called, so two
    documents that behave the same show the same state at the same step — animations included.
    """

    START_S = 1_700_000_000  # seconds since the epoch (Playwright takes seconds)

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self.context: Any = None
        self.page: Any = None
        self.documents: dict[str, str] = {}
        self.csp = True
        self.errors: list[str] = []
        self.requests: list[str] = []

    def _serve(self, route: Any) -> None:
        name = route.request.url[len(ORIGIN) + 1 :]
        body = self.documents.get(name)
        if body is None:
            route.fulfill(status=404, body="not found")
            return
        headers = {"Content-Type": "text/html; charset=utf-8"}
        if self.csp:
            headers["Content-Security-Policy"] = CSP
        route.fulfill(status=200, body=body.encode("utf-8"), headers=headers)

    def load(self, name: str, html: str, csp: bool = True) -> None:
        """Navigate a fresh context to ``html`` and wait until it has loaded (time still paused).

        ``csp``: serve it under the labelling UI's policy (inline code only; no eval, no string timers).
        """
        self.close()
        self.csp = csp
        self.documents[name] = html
        self.errors.clear()
        self.requests.clear()
        self.context = self.browser.new_context(viewport={"width": 900, "height": 900})
        self.context.clock.install(time=self.START_S)
        self.context.clock.pause_at(self.START_S + 1)
        self.context.add_init_script(SEEDED_RANDOM)
        page = self.page = self.context.new_page()
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("request", lambda r: self.requests.append(r.url))
        page.route(f"{ORIGIN}/**", self._serve)
        page.goto(f"{ORIGIN}/{name}", wait_until="load")

    def advance(self, ms: int = 50) -> None:
        """Let ``ms`` of page time pass: due timers fire and animation frames run."""
        self.context.clock.run_for(ms)

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        driver = Browser(b)
        yield driver
        driver.close()
        b.close()
