"""A fake OpenAI-compatible chat server on loopback, with scripted failures.

It answers the LLM generator's two requests: ``question`` (a spec with placeholders and a
parameter schema) and ``program`` (a real small template program that reads everything from
``C``); a ``repair`` gets the good program back.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dojo.serving import ServerThread, start_thread

SPEC = {
    "title": "Bouncing squares",
    "summary": (
        "A {width}×{height} canvas where {count} squares coloured {colour} bounce around at {speed} px/s "
        "on a {background} background."
    ),
    "params": [
        {"name": "width", "type": "int", "value": 480, "drift": "size"},
        {"name": "height", "type": "int", "value": 320, "drift": "size"},
        {"name": "count", "type": "int", "value": 12, "drift": "count"},
        {"name": "speed", "type": "number", "value": 140, "drift": "speed"},
        {"name": "colour", "type": "colour", "value": "#38BDF8", "drift": "colour"},
        {"name": "background", "type": "color", "value": "#0f172a", "drift": None},
        {"name": "gravity", "type": "int", "value": 300, "drift": "speed"},
        {"name": "fade", "type": "number", "value": 0.2, "drift": None},
        {"name": "pause_key", "type": "key", "value": "P", "drift": "key"},
    ],
    "features": [
        {"key": "gravity", "text": "Squares fall under a gravity of {gravity} px/s²."},
        {"key": "trails", "text": "Squares leave trails that fade by {fade} each frame."},
        {"key": "counter", "text": "A readout (#dojo-count) shows the number of squares."},
    ],
    "user_actions": [
        {"key": "pause", "text": "Pressing {pause_key} pauses and resumes the motion."},
        {"key": "add", "text": "An Add button (#dojo-add) adds a square."},
        {"key": "reset", "text": "A Reset button (#dojo-reset) puts back the first squares."},
    ],
    "extras": [
        {"key": "rainbow", "text": "Squares cycle through rainbow colours.", "action": False},
        {"key": "grid", "text": "A faint grid is drawn behind the squares.", "action": False},
        {"key": "shuffle", "text": "A Shuffle button (#dojo-shuffle) scatters the squares.", "action": True},
    ],
}

# A real (small) program written the way the program prompt asks: every value from C.p, every feature
# gated on on(key), every action inert unless live(key) (both defined by the statement that replaces the first line).
PROGRAM_JS = """const C = __DOJO_DECODE__;
const P = C.p;
document.title = P.title;
document.getElementById("dojo-title").textContent = P.title;
for (const [key, id] of [["add", "dojo-add"], ["reset", "dojo-reset"], ["shuffle", "dojo-shuffle"], ["counter", "dojo-count"]]) {
  if (!on(key)) document.getElementById(id).remove();
}
const cv = document.getElementById("dojo-canvas");
cv.width = P.width; cv.height = P.height;
const ctx = cv.getContext("2d");
let seed = 7;
function rand() { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 4294967296; }
const S = { squares: [], paused: false, adds: 0, resets: 0, shuffles: 0, hue: 0 };
function place(q) { q.x = rand() * (P.width - 8); q.y = rand() * (P.height - 8); }
function spawn() {
  const q = { vx: (rand() - 0.5) * 2 * P.speed, vy: (rand() - 0.5) * 2 * P.speed };
  place(q); S.squares.push(q);
}
function reset() { S.squares = []; for (let i = 0; i < P.count; i++) spawn(); }
function gravityNow() { return on("gravity") ? P.gravity : 0; }
function trailAlpha() { return on("trails") ? P.fade : 1; }
function fillOf(i) { return on("rainbow") ? "hsl(" + ((S.hue + i * 30) % 360) + ", 80%, 60%)" : P.colour; }
reset();
function update(dt) {
  S.hue = (S.hue + dt * 90) % 360;
  for (const q of S.squares) {
    q.vy += gravityNow() * dt;
    q.x += q.vx * dt; q.y += q.vy * dt;
    if (q.x < 0 || q.x > P.width - 8) { q.vx = -q.vx; q.x = Math.max(0, Math.min(P.width - 8, q.x)); }
    if (q.y < 0 || q.y > P.height - 8) { q.vy = -q.vy; q.y = Math.max(0, Math.min(P.height - 8, q.y)); }
  }
}
function draw() {
  ctx.globalAlpha = trailAlpha();
  ctx.fillStyle = P.background;
  ctx.fillRect(0, 0, P.width, P.height);
  ctx.globalAlpha = 1;
  if (on("grid")) {
    ctx.strokeStyle = "rgba(128, 128, 128, 0.2)";
    for (let x = 0; x < P.width; x += 40) { ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, P.height); ctx.stroke(); }
  }
  S.squares.forEach((q, i) => { ctx.fillStyle = fillOf(i); ctx.fillRect(q.x, q.y, 8, 8); });
  if (on("counter")) document.getElementById("dojo-count").textContent = "Squares: " + S.squares.length;
}
function click(key, id, fn) {
  const el = document.getElementById(id);
  if (el) el.addEventListener("click", () => { if (live(key)) fn(); });
}
click("add", "dojo-add", () => { spawn(); S.adds += 1; });
click("reset", "dojo-reset", () => { reset(); S.resets += 1; });
click("shuffle", "dojo-shuffle", () => { S.squares.forEach(place); S.shuffles += 1; });
document.addEventListener("keydown", (ev) => {
  if (live("pause") && ev.key.toLowerCase() === P.pause_key) S.paused = !S.paused;
});
window.__dojoState = () => ({ n: S.squares.length, paused: S.paused, adds: S.adds, resets: S.resets, shuffles: S.shuffles });
let last = performance.now();
function frame(t) {
  const dt = Math.min(0.05, Math.max(0, (t - last) / 1000));
  last = t;
  if (!S.paused) update(dt);
  draw();
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
"""


def program(script: str = PROGRAM_JS, marker: str = "__DOJO_CONFIG__") -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title></title></head><body>'
        '<h1 id="dojo-title"></h1><div><button id="dojo-add">Add</button><button id="dojo-reset">Reset</button>'
        '<button id="dojo-shuffle">Shuffle</button><span id="dojo-count"></span></div>'
        f'<canvas id="dojo-canvas"></canvas>\n{marker}\n<script>\n{script}</script></body></html>'
    )


BROKEN_JS = program(PROGRAM_JS.replace("let seed = 7;", "let seed = ;"))
FLAGS = program(PROGRAM_JS.replace('on("grid")', "C.on.grid"))  # reads a flag C does not hold
REMOTE = program().replace("</body>", "<script src='https://cdn.example.com/lib.js'></script></body>")
LITERAL = program(PROGRAM_JS.replace("cv.width = P.width;", "cv.width = 480;"))
NO_MARKER = program(marker="")


class FakeLLM:
    """Each request takes the next scripted behaviour (default ``ok``) and is recorded."""

    def __init__(self) -> None:
        self.script: deque[str] = deque()
        self.calls: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.post("/v1/chat/completions")(self._chat)
        self.app.get("/v1/models")(self._models)

    async def _models(self, request: Request) -> JSONResponse:
        if request.headers.get("authorization") == "Bearer bad-key":
            return JSONResponse({"error": {"message": "invalid key"}}, status_code=401)
        return JSONResponse({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

    def _reply(self, content: str) -> JSONResponse:
        return JSONResponse(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": "fake-model",
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                ],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500},
            }
        )

    async def _chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        text = body["messages"][-1]["content"]
        phase = text.split("\n", 1)[0].removeprefix("Task: ").rstrip(".")
        self.calls.append({"phase": phase, "body": body})
        behaviour = self.script.popleft() if self.script else "ok"
        if behaviour.isdigit():
            return JSONResponse(
                {"error": {"message": f"scripted {behaviour}", "type": "fake"}}, status_code=int(behaviour)
            )
        if behaviour == "timeout":
            await asyncio.sleep(3)
        if behaviour == "malformed":
            return self._reply("Sure! here is {not json")
        if behaviour == "fenced":
            return self._reply("```json\n" + json.dumps(self._content(phase)) + "\n```")
        if behaviour == "spec_literal":  # a value written into a text instead of a placeholder
            feats = [
                dict(f, text="An Add button (#dojo-add) adds 3 squares.") if f["key"] == "add" else f
                for f in SPEC["user_actions"]
            ]
            return self._reply(json.dumps(dict(SPEC, user_actions=feats)))
        if behaviour == "spec_no_drift":  # nothing a rung could set wrong
            return self._reply(json.dumps(dict(SPEC, params=[dict(p, drift=None) for p in SPEC["params"]])))
        bad = {"broken_js": BROKEN_JS, "remote": REMOTE, "literal": LITERAL, "no_marker": NO_MARKER, "flags": FLAGS}
        if behaviour in bad:
            return self._reply(json.dumps({"html": bad[behaviour]}))
        return self._reply(json.dumps(self._content(phase)))

    def _content(self, phase: str) -> dict[str, Any]:
        if phase == "question":
            return SPEC
        return {"html": program()}  # the program, and any repair of it


class FakeServer:
    """Runs a FakeLLM from a thread on a free loopback port (:func:`dojo.serving.start_thread`)."""

    def __init__(self) -> None:
        self.fake = FakeLLM()
        self.server: ServerThread | None = None
        self.port = 0
        self.base_url = ""

    def __enter__(self) -> FakeServer:
        self.server = start_thread(self.fake.app, lifespan="off")
        self.port = self.server.port
        self.base_url = f"{self.server.url}/v1"
        return self

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.stop()
