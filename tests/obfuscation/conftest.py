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
    """One page whose documents are served from memory at ``http://dojo.test/<name>`` (never the network)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.documents: dict[str, str] = {}
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("request", lambda r: self.requests.append(r.url))
        page.route(f"{ORIGIN}/**", self._serve)
        page.add_init_script(SEEDED_RANDOM)

    def _serve(self, route: Any) -> None:
        name = route.request.url[len(ORIGIN) + 1 :]
        body = self.documents.get(name)
        if body is None:
            route.fulfill(status=404, body="not found")
            return
        route.fulfill(
            status=200,
            body=body.encode("utf-8"),
            headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": CSP},
        )

    def load(self, name: str, html: str) -> None:
        """Navigate to ``html`` (a fresh document and JS realm) and wait until it has fully loaded."""
        self.documents[name] = html
        self.errors.clear()
        self.requests.clear()
        self.page.goto(f"{ORIGIN}/{name}", wait_until="load")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = b.new_context(viewport={"width": 900, "height": 900})
        yield Browser(context.new_page())
        b.close()
