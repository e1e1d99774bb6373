"""What a person does in the UI, as reusable steps (keyboard first)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect


def sign_in(page: Any, base: str, hash_: str = "") -> None:
    """Open the UI and sign in with the wallet, using the keyboard."""
    page.goto(f"{base}/{hash_}")
    expect(page.locator("#connect")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#nav")).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"#/signin"))


def add_key(page: Any, name: str, key: str) -> None:
    """Add a subscription key on the keys page."""
    page.goto(page.url.split("#")[0] + "#/keys")
    page.get_by_role("textbox", name="Name (for you)").fill(name)
    page.get_by_role("textbox", name="Subscription key").fill(key)
    page.get_by_role("textbox", name="Subscription key").press("Enter")
    expect(page.locator(".partner-name", has_text=name)).to_be_visible()


def focus_group(page: Any, label: str, max_tabs: int = 40) -> None:
    """Press Tab until a score group named ``label`` has the focus (frames in between are tabbable)."""
    for _ in range(max_tabs):
        now = page.evaluate("() => document.activeElement?.closest('[role=radiogroup]')?.getAttribute('aria-label')")
        if now == label:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached the score group {label!r}")


def score_with_keyboard(page: Any, values: list[int]) -> None:
    """Give response A, B, … the ``values`` with arrows/Home/End only, moving between groups with Tab."""
    for i, v in enumerate(values):
        label = f"Score for Response {chr(65 + i)}"
        focus_group(page, label)
        page.keyboard.press("Home")  # selects 1
        for _ in range(v - 1):
            page.keyboard.press("ArrowRight")
        group = page.get_by_role("radiogroup", name=label)
        expect(group.locator("[aria-checked=true]")).to_have_text(str(v))
