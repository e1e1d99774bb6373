"""Bad states are shown in words and keep what the user entered: expired task, full task, revoked key,
expired session (sign in again and carry on)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from tests.e2e.flows import add_key, score_with_keyboard, sign_in
from tests.e2e.support import (
    PHONE,
    Miner,
    PageWallet,
    WorkerApi,
    api_labeller,
    expired_token,
    shot,
    simple_response,
    web,
)
from tests.support import wait_until

pytestmark = pytest.mark.browser


def four() -> list[str]:
    return [simple_response(f"Answer {c}", "#f5f5f5") for c in "ABCD"]


def checked(page) -> list[str | None]:
    """The selected value of every score group, in order."""
    return page.eval_on_selector_all(
        "[role=radiogroup]", "gs => gs.map(g => g.querySelector('[aria-checked=true]')?.textContent ?? null)"
    )


def test_full_task_is_said_in_words_and_scores_are_kept(page, worker_api: WorkerApi, miner: Miner) -> None:
    base = worker_api.url
    key = miner.new_key("subscription-keys")
    task_id, cids = miner.create_task(four(), prompt="Only one answer wanted", max_results=1)
    sign_in(page, base)
    add_key(page, "Alice", key)
    page.goto(f"{base}/#/task/{task_id}")
    score_with_keyboard(page, [4, 5, 6, 7])
    _, other = api_labeller(base, key)  # someone else is faster
    r = web.put(f"{base}/api/v1/tasks/{task_id}/result", json={"scores": dict.fromkeys(cids, 5)}, headers=other)
    assert r.status_code == 200
    page.keyboard.press("Enter")
    expect(page.locator("#task-error")).to_contain_text("This task is full")
    expect(page.locator("#task-state")).to_have_text("full")
    expect(page.locator("#next-task")).to_be_visible()  # no submit any more: the way on is the next task
    expect(page.locator("#submit")).to_have_count(0)
    assert checked(page) == ["4", "5", "6", "7"]
    shot(page, "state-full-desktop")
    page.goto(f"{base}/#/tasks?status=all")
    expect(page.locator(f"tr[data-task='{task_id}'] .pill")).to_have_text("full")
    expect(page.locator(f"tr[data-task='{task_id}'] .slots")).to_have_text("1/1")


def test_expired_task_is_said_in_words_and_scores_are_kept(page, worker_api: WorkerApi, miner: Miner) -> None:
    base = worker_api.url
    key = miner.new_key("subscription-keys")
    task_id, cids = miner.create_task(four(), prompt="Closing while you score")
    short_id, _ = miner.create_task(four(), prompt="Hurry", expire_in_s=2)
    deadline = time.time() + 2
    sign_in(page, base)
    add_key(page, "Alice", key)
    page.goto(f"{base}/#/task/{task_id}")
    expect(page.locator("#task-state")).to_have_text("open")
    score_with_keyboard(page, [10, 1, 2, 3])
    # the miner's feedback arrives (the truth is out): the server closes the task while the page shows it open
    r = web.post(
        f"{base}/api/v1/tasks/{task_id}/feedback",
        headers={"X-API-KEY": miner.api_key},
        json={"score": 0.5, "ground_truth": {c: i for i, c in enumerate(cids)}},
    )
    assert r.status_code == 200
    page.keyboard.press("Enter")
    expect(page.locator("#task-error")).to_contain_text("This task is closed")  # closed by feedback, not expired
    expect(page.locator("#task-state")).to_have_text("closed")
    expect(page.locator("#next-task")).to_be_visible()  # no submit any more: the way on is the next task
    expect(page.locator("#submit")).to_have_count(0)
    assert checked(page) == ["10", "1", "2", "3"]
    shot(page, "state-closed-desktop")
    page.set_viewport_size(PHONE)
    shot(page, "state-closed-phone", full_page=False)

    # a task past its deadline: the list and the task page say so
    wait_until(lambda: time.time() > deadline + 0.2, timeout=10, what="the short task's deadline")
    page.goto(f"{base}/#/tasks?status=expired")
    expect(page.locator(f"tr[data-task='{short_id}'] .pill")).to_have_text("expired")
    page.goto(f"{base}/#/task/{short_id}")
    expect(page.locator("#progress")).to_contain_text("This task has expired")
    expect(page.locator("#time-left")).to_have_text("expired")
    expect(page.locator(".score-btn").first).to_be_disabled()
    # the list shows the status the API sends, each under its own filter
    page.goto(f"{base}/#/tasks?status=closed")
    expect(page.locator(f"tr[data-task='{task_id}'] .pill")).to_have_text("closed")
    expect(page.locator(f"tr[data-task='{short_id}']")).to_have_count(0)


def test_revoked_key_is_shown_and_its_tasks_are_gone(page, worker_api: WorkerApi, miner: Miner) -> None:
    base = worker_api.url
    key = miner.new_key("subscription-keys")
    task_id, _ = miner.create_task(four(), prompt="Before the key was revoked")
    sign_in(page, base)
    add_key(page, "Soon revoked", key)
    page.goto(f"{base}/#/tasks")
    expect(page.locator(f"tr[data-task='{task_id}']")).to_be_visible()
    miner.revoke_subscription_key(key)
    page.goto(f"{base}/#/keys")
    expect(page.locator(".pill.bad")).to_have_text("revoked")
    expect(page.locator("#keys-list")).to_contain_text("The miner revoked this key")
    shot(page, "state-revoked-key-desktop")
    page.goto(f"{base}/#/task/{task_id}")
    expect(page.locator("#task-missing")).to_contain_text("not available to you")
    page.goto(f"{base}/#/tasks?status=all")
    expect(page.locator("#tasks-empty")).to_be_visible()
    # rename and remove still work on the revoked entry, by keyboard
    page.goto(f"{base}/#/keys")
    page.get_by_role("button", name="Rename Soon revoked").press("Enter")
    box = page.get_by_role("textbox", name="New name for Soon revoked")
    box.fill("Old team")
    box.press("Enter")
    expect(page.locator(".partner-name")).to_have_text("Old team")
    page.get_by_role("button", name="Remove Old team").press("Enter")
    page.get_by_role("button", name="Yes, remove").press("Enter")
    expect(page.locator("#keys-empty")).to_be_visible()


def test_expired_session_signs_in_again_and_keeps_the_scores(
    page, wallet: PageWallet, worker_api: WorkerApi, miner: Miner
) -> None:
    base = worker_api.url
    key = miner.new_key("subscription-keys")
    task_id, cids = miner.create_task(four(), prompt="A long think")
    sign_in(page, base)
    add_key(page, "Alice", key)
    page.goto(f"{base}/#/task/{task_id}")
    score_with_keyboard(page, [3, 8, 6, 2])
    # the session runs out while the person is thinking (the token is expired; the page does not know yet)
    page.evaluate(
        "tok => { const s = JSON.parse(localStorage.getItem('dojo.session')); s.token = tok;"
        " localStorage.setItem('dojo.session', JSON.stringify(s)); }",
        expired_token(wallet.account.address),
    )
    page.keyboard.press("Enter")
    expect(page.locator("#banner")).to_contain_text("session has expired")
    expect(page.locator("#connect")).to_be_focused()
    shot(page, "state-session-expired-desktop")
    page.keyboard.press("Enter")  # sign in again
    expect(page).to_have_url(f"{base}/#/task/{task_id}")
    expect(page.locator("#submit")).to_be_enabled()
    assert checked(page) == ["3", "8", "6", "2"]
    page.locator("#submit").press("Enter")
    expect(page).not_to_have_url(f"{base}/#/task/{task_id}")
    got = miner.results(task_id)
    assert len(got) == 1 and got[0]["scores"] == dict(zip(cids, [3.0, 8.0, 6.0, 2.0], strict=True))
    assert len(wallet.signed) == 2


def test_rate_limited_submit_says_when_to_retry_and_retry_works(page, worker_api: WorkerApi, miner: Miner) -> None:
    base = worker_api.url
    key = miner.new_key("subscription-keys")
    task_id, cids = miner.create_task(four(), prompt="Slow down")
    sign_in(page, base)
    add_key(page, "Alice", key)
    page.goto(f"{base}/#/task/{task_id}")
    score_with_keyboard(page, [1, 2, 3, 4])
    limited = (
        '{"success": false, "body": null, "error": "too many requests (120 per 1 minute per labeller): retry in 7 s"}'
    )
    page.route(
        "**/api/v1/tasks/*/result",
        lambda route: route.fulfill(
            status=429, headers={"Retry-After": "7", "Content-Type": "application/json"}, body=limited
        ),
    )
    page.keyboard.press("Enter")
    expect(page.locator("#task-error")).to_contain_text("Too many requests")
    expect(page.locator("#task-error")).to_contain_text("Try again in 7 s")
    expect(page.locator("#submit")).to_be_enabled()  # nothing lost: the same answer can be sent again
    assert checked(page) == ["1", "2", "3", "4"]
    page.unroute("**/api/v1/tasks/*/result")
    page.locator("#submit").click()
    expect(page).not_to_have_url(f"{base}/#/task/{task_id}")
    assert miner.results(task_id)[0]["scores"] == dict(zip(cids, [1.0, 2.0, 3.0, 4.0], strict=True))
