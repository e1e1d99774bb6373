"""Web UI benchmark: a task page with four heavy responses against the same four documents as plain files.

A real worker API (uvicorn, fresh SQLite) holds one task with four ~300 KB interactive HTML responses
(inline data + a script that draws it and wires a button). In Debian chromium, each run opens a fresh
browser context (cold cache) and measures, from navigation start, the time until all four responses
are interactive (each document stamps the wall-clock time its script finished wiring the button), and
the bytes transferred (CDP ``Network.loadingFinished``). The peer, in the same browser and run, is a
plain page with four ``<iframe src=docN.html>`` served by a static file server on loopback.

    python bench/ui.py [--runs N]
"""

from __future__ import annotations

import argparse
import http.server
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_BYTES = 300_000
DEADLINE_S = 20.0  # per page load, at most
BUDGET_S = 120.0  # the whole benchmark, at most


def heavy_document(n: int, seed: int) -> str:
    """~300 KB of self-contained HTML: a data block, a script that draws it on a canvas, a button."""
    rng = random.Random(seed)
    points: list[int] = []
    size = 0
    while size < TARGET_BYTES - 2_000:
        p = rng.randrange(100_000, 999_999)
        points.append(p)
        size += 7
    data = json.dumps(points, separators=(",", ":"))
    return f"""<!doctype html><html><head><meta charset=utf-8><title>Response {n}</title>
<style>body{{font:14px sans-serif;margin:0;padding:8px}}canvas{{border:1px solid #ccc;width:100%}}</style></head>
<body><h3>Response {n}</h3><button id=go disabled>animate</button> <span id=count>0</span>
<canvas id=c width=600 height=300></canvas>
<script>
const DATA = {data};
const c = document.getElementById('c'), x = c.getContext('2d');
let sum = 0;
for (let i = 0; i < DATA.length; i++) {{
  const v = DATA[i]; sum = (sum + v) % 1000003;
  x.fillStyle = 'hsl(' + (v % 360) + ',70%,50%)';
  x.fillRect((v >> 3) % 600, (v >> 7) % 300, 2, 2);
}}
let clicks = 0;
const b = document.getElementById('go');
b.onclick = () => {{ clicks++; document.getElementById('count').textContent = clicks + ' / ' + sum; }};
b.disabled = false;
document.body.dataset.readyAt = String(performance.timeOrigin + performance.now());
</script></body></html>"""


def _serve_worker_api(home: str, hotkeys: list[str], url_queue: Any, stop: Any) -> None:
    """Child process: the worker API (uvicorn, fresh SQLite) until ``stop`` is set; its URL goes on the queue."""
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    from tests.e2e.support import WorkerApi

    with WorkerApi(Path(home), hotkeys) as api:
        url_queue.put(api.url)
        stop.wait(BUDGET_S + 60)


class StaticServer:
    """The peer: plain files over HTTP from a folder, on a free loopback port."""

    def __init__(self, folder: Path) -> None:
        handler = partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StaticServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def measure(browser: Any, url: str, init_script: str | None, expect_frames: int = 4) -> dict[str, float]:
    """Open ``url`` in a fresh context; ms until every frame stamped readyAt, and bytes transferred."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    transferred = {"bytes": 0.0, "requests": 0}

    def done(ev: dict[str, Any]) -> None:
        transferred["bytes"] += float(ev.get("encodedDataLength", 0))
        transferred["requests"] += 1

    cdp.on("Network.loadingFinished", done)
    page.goto(url, wait_until="commit")
    deadline = time.monotonic() + DEADLINE_S
    stamps: list[float] = []
    while time.monotonic() < deadline:
        children = [f for f in page.frames if f != page.main_frame]
        stamps = []
        for f in children:
            try:
                v = f.evaluate("() => document.body && document.body.dataset.readyAt")
            except Exception:  # noqa: BLE001 - a frame still being attached
                v = None
            if v:
                stamps.append(float(v))
        if len(stamps) == expect_frames:
            break
        page.wait_for_timeout(20)
    if len(stamps) != expect_frames:
        context.close()
        raise SystemExit(
            f"only {len(stamps)} of {expect_frames} responses became interactive within {DEADLINE_S}s at {url}"
        )
    origin = float(page.evaluate("() => performance.timeOrigin"))
    for f in [f for f in page.frames if f != page.main_frame]:  # they really answer a click
        f.click("#go")
        assert f.text_content("#count").startswith("1 / ")
    page.wait_for_timeout(300)  # let the last loadingFinished events arrive
    context.close()
    return {"ms": max(stamps) - origin, "bytes": transferred["bytes"], "requests": transferred["requests"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="page loads per side (alternating), default 5")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "src"))
    from playwright.sync_api import sync_playwright
    from tests.e2e.support import CHROMIUM, LAUNCH_ARGS, Miner, api_labeller, hotkey, web

    started = time.monotonic()
    docs = [heavy_document(i + 1, seed=i) for i in range(4)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "plain"
        folder.mkdir()
        for i, d in enumerate(docs):
            (folder / f"doc{i}.html").write_text(d)
        (folder / "index.html").write_text(
            "<!doctype html><html><body>"
            + "".join(f"<iframe src='doc{i}.html' style='width:45%;height:380px'></iframe>" for i in range(4))
            + "</body></html>"
        )
        home = Path(tmp) / "home"
        home.mkdir()
        # the worker API runs in its own process, as `dojo worker-api` would, not sharing this one's GIL
        ctx = multiprocessing.get_context("spawn")
        urls, stop = ctx.Queue(), ctx.Event()
        server = ctx.Process(target=_serve_worker_api, args=(str(home), [hotkey("//Alice").ss58_address], urls, stop))
        server.start()
        try:
            api_url = urls.get(timeout=60)
        except Exception:
            server.kill()
            raise SystemExit("the worker API did not start within 60 s") from None
        with StaticServer(folder) as plain:
            miner = Miner(api_url).login()
            task_id, _ = miner.create_task(docs, prompt="Four heavy interactive answers", expire_in_s=3600)
            _, headers = api_labeller(api_url, miner.new_key("subscription-keys"))
            api_ms = []
            for _ in range(5):  # the task's JSON alone, as the page fetches it
                t0 = time.perf_counter()
                assert web.get(f"{api_url}/api/v1/tasks/{task_id}", headers=headers).status_code == 200
                api_ms.append((time.perf_counter() - t0) * 1000)
            token = headers["Authorization"].removeprefix("Bearer ")
            session = json.dumps({"token": token, "expires_at": "2999-01-01T00:00:00Z", "address": "0x0"})
            init = f"localStorage.setItem('dojo.session', {json.dumps(session)});"
            ui_url, plain_url = f"{api_url}/#/task/{task_id}", f"{plain.url}/index.html"
            ui: list[dict[str, float]] = []
            peer: list[dict[str, float]] = []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                measure(browser, ui_url, init)  # warm the browser process and the server once
                measure(browser, plain_url, None)
                for _ in range(max(1, args.runs)):
                    if time.monotonic() - started > BUDGET_S:
                        break
                    ui.append(measure(browser, ui_url, init))
                    peer.append(measure(browser, plain_url, None))
                browser.close()
        stop.set()
        server.join(timeout=20)
        if server.is_alive():
            server.terminate()
            server.join(timeout=10)

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    doc_kb = sum(len(d.encode()) for d in docs) / 1024
    print(f"four responses, {doc_kb:.0f} KiB of HTML in all; {len(ui)} cold loads per side (median)")
    print(f"{'':28}{'interactive (ms)':>18}{'transferred (KiB)':>20}{'requests':>10}")
    print(
        f"{'task page (worker API UI)':28}{med(ui, 'ms'):>18.0f}{med(ui, 'bytes') / 1024:>20.0f}{med(ui, 'requests'):>10.0f}"
    )
    print(
        f"{'plain files (4 iframes)':28}{med(peer, 'ms'):>18.0f}{med(peer, 'bytes') / 1024:>20.0f}{med(peer, 'requests'):>10.0f}"
    )
    runs_ui = ", ".join(f"{r['ms']:.0f}" for r in ui)
    runs_peer = ", ".join(f"{r['ms']:.0f}" for r in peer)
    print(
        f"ratio UI / plain: time {med(ui, 'ms') / med(peer, 'ms'):.2f}x, bytes {med(ui, 'bytes') / med(peer, 'bytes'):.2f}x"
        f"  (UI runs: {runs_ui} ms; plain: {runs_peer} ms)"
    )
    print(
        f"of the UI's time, GET /api/v1/tasks/{{id}} (the four documents as JSON) takes {statistics.median(api_ms):.0f} ms"
    )


if __name__ == "__main__":
    main()
