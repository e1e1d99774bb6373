"""A whole labelling session as a person, in Debian chromium: wallet sign-in (SIWE), a subscription key,
keyboard scoring, submit, straight on to the next task; the miner then reads exactly that result.
Screenshots of every page at desktop and phone width go to tests/e2e/artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.e2e.flows import add_key, focus_group, score_with_keyboard, sign_in
from tests.e2e.support import DESKTOP, PHONE, Miner, PageWallet, WorkerApi, body, shot, simple_response, web

pytestmark = pytest.mark.browser
COLOURS = ["#fde68a", "#bfdbfe", "#bbf7d0", "#fecaca"]


def test_whole_session_sign_in_key_score_submit_next(
    page, wallet: PageWallet, worker_api: WorkerApi, miner: Miner
) -> None:
    base = worker_api.url
    sub_key = miner.new_key("subscription-keys")
    first, cids = miner.create_task(
        [simple_response(f"Answer {c}", COLOURS[i]) for i, c in enumerate("ABCD")],
        prompt="Build a bouncing ball with a counter",
        expire_in_s=1200,
    )
    second, _ = miner.create_task(
        [simple_response("Second", "#eee")] * 1 + [simple_response("Other", "#ddd")],
        prompt="Draw a spinning square",
        expire_in_s=1800,
    )

    page.goto(base + "/")
    expect(page).to_have_url(f"{base}/#/signin?next=%23%2Ftasks")
    shot(page, "signin-desktop")
    sign_in(page, base)
    assert len(wallet.signed) == 1 and "wants you to sign in with your Ethereum account" in wallet.signed[0]
    assert wallet.account.address in wallet.signed[0]  # checksummed, as the server asked
    expect(page.locator("#tasks-empty")).to_be_visible()  # no key yet: nothing to see

    page.goto(base + "/#/keys")
    expect(page.locator("#keys-empty")).to_contain_text("A subscription key links you to a miner")
    shot(page, "keys-empty-desktop")
    add_key(page, "Team Alice", sub_key)
    expect(page.locator(".pill.ok")).to_have_text("active")
    shot(page, "keys-desktop")

    page.goto(base + "/#/tasks")
    row = page.locator(f"tr[data-task='{first}']")
    expect(row.locator(".slots")).to_have_text("0/3")
    expect(row.locator(".pill")).to_have_text("open")
    expect(row.locator(".left")).to_contain_text("min")
    shot(page, "tasks-desktop")
    row.get_by_role("link").click()

    expect(page.locator("iframe.response-frame")).to_have_count(4)
    for i in range(4):  # every response is live: its script ran inside the sandbox
        frame = page.frame_locator("iframe.response-frame").nth(i)
        expect(frame.locator("body")).to_have_attribute("data-ready", "1")
    # a response is usable by keyboard too: enter it, Tab to its button, press it
    page.get_by_role("button", name="Use Response A with the keyboard").press("Enter")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.frame_locator("iframe.response-frame").nth(0).locator("#b")).to_have_text("clicks: 1")
    page.locator(".score-btn").first.focus()  # back to the first score group
    submit = page.locator("#submit")
    expect(submit).to_be_disabled()
    values = [7, 3, 10, 1]
    # Tab goes from score group to the next response's keyboard entry, then its score group: frames are not in the way
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Use Response B with the keyboard")).to_be_focused()
    page.keyboard.press("Tab")
    assert (
        page.evaluate("() => document.activeElement.closest('[role=radiogroup]')?.getAttribute('aria-label')")
        == "Score for Response B"
    )
    page.locator(".score-btn").first.focus()
    score_with_keyboard(page, values[:3])
    expect(submit).to_be_disabled()  # one response still unscored
    expect(page.locator("#progress")).to_contain_text("3 of 4")
    focus_group(page, "Score for Response D")
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    for _ in range(8):
        page.keyboard.press("ArrowDown")  # down to the minimum, and no lower
    expect(page.get_by_role("radiogroup", name="Score for Response D").locator("[aria-checked=true]")).to_have_text("1")
    expect(submit).to_be_enabled()
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert ring[0] != "none" and ring[1] != "0px", f"keyboard focus is not visible: {ring}"
    shot(page, "task-desktop")
    page.set_viewport_size(PHONE)
    page.evaluate("() => window.scrollTo(0, 0)")
    shot(page, "task-phone", full_page=False)
    page.locator("#submit").scroll_into_view_if_needed()
    shot(page, "task-phone-submit", full_page=False)
    page.set_viewport_size(DESKTOP)
    focus_group(page, "Score for Response D")
    page.keyboard.press("Enter")  # Enter submits

    expect(page).to_have_url(f"{base}/#/task/{second}")  # straight on to the next open task
    expect(page.locator("iframe.response-frame")).to_have_count(2)
    page.get_by_role("button", name="Skip").press("Enter")  # nothing else is open: back to the list, told so
    expect(page.locator("#banner")).to_contain_text("No other open task")
    expect(page).to_have_url(f"{base}/#/tasks?status=open")
    results = miner.results(first)
    assert len(results) == 1
    assert results[0]["labeller_id"] == wallet.account.address
    assert results[0]["scores"] == {cid: float(v) for cid, v in zip(cids, values, strict=True)}

    # my work shows the answer; the miner's feedback then turns into a grade
    truth = {cid: r for r, cid in enumerate(sorted(cids, key=lambda c: -values[cids.index(c)]))}
    body(
        web.post(
            f"{base}/api/v1/tasks/{first}/feedback",
            json={"score": 1.0, "ground_truth": truth},
            headers={"X-API-KEY": miner.api_key},
        )
    )
    page.goto(base + "/#/work")
    expect(page.locator("#stat-done strong")).to_have_text("1")
    expect(page.locator("#stat-accuracy strong")).to_have_text("100%")
    expect(page.locator("#per-miner")).to_contain_text("Team Alice")
    shot(page, "work-desktop")

    for name, hash_ in [("tasks", "#/tasks?status=all"), ("keys", "#/keys"), ("work", "#/work")]:
        page.set_viewport_size(PHONE)
        page.goto(f"{base}/{hash_}")
        expect(page.locator("main h1")).to_be_visible()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"] + 1, f"{name} scrolls sideways at phone width ({width}px)"
        shot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)

    # sign out ends the session on the server too
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#connect")).to_be_visible()
    assert page.evaluate("() => localStorage.getItem('dojo.session')") is None
    page.set_viewport_size(PHONE)
    shot(page, "signin-phone")
    assert page.errors == []  # type: ignore[attr-defined]
