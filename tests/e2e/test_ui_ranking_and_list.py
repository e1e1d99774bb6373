"""Ranking by keyboard (and by drag), and the task list: filters, sort, pages, and a refresh of its own that
keeps the user's place (page, filters and focus)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.e2e.flows import add_key, sign_in
from tests.e2e.support import PHONE, Miner, WorkerApi, shot, simple_response

pytestmark = pytest.mark.browser


def order_in_page(page) -> list[str]:
    return page.eval_on_selector_all(".rank-item .grow", "els => els.map(e => e.textContent)")


def test_ranking_with_keyboard_and_drag(page, worker_api: WorkerApi, miner: Miner) -> None:
    base = worker_api.url
    key = miner.new_key("subscription-keys")
    task_id, cids = miner.create_task(
        [simple_response(f"Answer {c}", "#fafafa") for c in "ABCD"], prompt="Rank these", ranking=True
    )
    sign_in(page, base)
    add_key(page, "Alice", key)
    page.goto(f"{base}/#/task/{task_id}")
    expect(page.locator(".rank-item").first).to_be_focused()
    expect(page.locator("#submit")).to_be_disabled()  # not until the person has ranked
    page.keyboard.press("Alt+ArrowDown")  # A down one
    assert order_in_page(page) == ["Response B", "Response A", "Response C", "Response D"]
    page.keyboard.press("Space")  # grab A, move it down twice, drop
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    assert order_in_page(page) == ["Response B", "Response C", "Response D", "Response A"]
    expect(page.locator(".rank-item", has_text="Response A")).to_be_focused()
    page.keyboard.press("ArrowUp")  # focus D
    page.keyboard.press("Alt+ArrowUp")  # D up one
    assert order_in_page(page) == ["Response B", "Response D", "Response C", "Response A"]
    page.locator(".rank-item", has_text="Response C").drag_to(page.locator(".rank-item", has_text="Response B"))
    assert order_in_page(page) == ["Response C", "Response B", "Response D", "Response A"]
    expect(page.locator("#submit")).to_be_enabled()
    shot(page, "task-ranking-desktop")
    page.set_viewport_size(PHONE)
    page.locator("#rank-title").scroll_into_view_if_needed()
    shot(page, "task-ranking-phone", full_page=False)
    page.locator(".rank-item", has_text="Response A").focus()
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(f"{base}/#/task/{task_id}")
    a, b, c, d = cids
    assert miner.results(task_id)[0]["scores"] == {c: 0.0, b: 1.0, d: 2.0, a: 3.0}


def test_list_filters_pages_and_refresh_keep_the_place(page, worker_api: WorkerApi) -> None:
    base = worker_api.url
    bob = Miner(base, "//Bob").login()  # its own miner: this test counts tasks
    key = bob.new_key("subscription-keys")
    made = [
        bob.create_task([simple_response(str(i), "#fff")] * 2, prompt=f"Score task {i:02d}", expire_in_s=3000 - i * 10)[
            0
        ]
        for i in range(24)
    ]
    ranked, _ = bob.create_task(
        [simple_response("r", "#fff")] * 3, prompt="The ranking task", ranking=True, expire_in_s=3500
    )
    page.clock.install()
    sign_in(page, base)
    add_key(page, "Bob", key)
    page.goto(f"{base}/#/tasks?status=open&sort=newest&page=2")
    expect(page.locator("#list-updated")).to_contain_text("25 tasks")
    expect(page.locator("tbody tr")).to_have_count(5)
    expect(page.locator(".pager")).to_contain_text("Page 2 of 2")
    target = page.locator(f"tr[data-task='{made[1]}'] a")
    target.focus()
    bob.create_task([simple_response("n", "#fff")] * 2, prompt="Arrived while reading", expire_in_s=3500)
    page.clock.fast_forward("00:16")  # the list refreshes on its own every 15 s
    expect(page.locator("#list-updated")).to_contain_text("26 tasks")
    expect(page.locator("tbody tr")).to_have_count(6)  # one more task pushed a row onto page 2
    assert page.url == f"{base}/#/tasks?status=open&sort=newest&page=2"
    focused = page.evaluate("() => document.activeElement.closest('tr')?.dataset.task")
    assert focused == made[1], "the refresh moved the focus"
    expect(page.locator(".pager")).to_contain_text("Page 2 of 2")

    page.get_by_label("Type").select_option("ranking")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator(f"tr[data-task='{ranked}'] td[data-label='Type']")).to_have_text("ranking")
    assert "type=ranking" in page.url and "page=1" in page.url
    page.get_by_label("Type").select_option("")
    page.get_by_label("Sort by").select_option("expiring")
    expect(page.locator("tbody tr").first).to_have_attribute("data-task", made[-1])  # shortest deadline
    page.get_by_label("Status").select_option("expired")
    expect(page.locator("#tasks-empty")).to_contain_text("No task matches")
