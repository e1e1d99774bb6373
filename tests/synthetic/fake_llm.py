"""A fake OpenAI-compatible chat server on loopback, with scripted failures."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import deque
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from support import free_port, wait_until

SPEC = {
    "title": "Bouncing squares",
    "summary": "A canvas where coloured squares bounce around.",
    "features": [
        {"key": "gravity", "text": "Squares fall under gravity."},
        {"key": "trails", "text": "Squares leave trails."},
        {"key": "counter", "text": "A readout shows the number of squares."},
    ],
    "user_actions": [
        {"key": "pause", "text": "A Pause button (#dojo-pause) freezes the motion."},
        {"key": "add", "text": "An Add button (#dojo-add) adds a square."},
        {"key": "reset", "text": "Pressing R resets the scene."},
    ],
    "extras": [
        {"key": "rainbow", "text": "Squares cycle through rainbow colours."},
        {"key": "sound", "text": "A click sound plays on each bounce."},
    ],
}


def page(marker: str, script: str = "let n = 0; window.__dojoState = () => ({ n: n });") -> str:
    return (
        f"<!DOCTYPE html><html><head><title>{marker}</title></head><body><p>{marker}</p>"
        f"<button id='dojo-pause'>Pause</button><script>{script}</script></body></html>"
    )


BROKEN_JS = page("broken", "let x = ;")
REMOTE = page("remote").replace("<body>", "<body><script src='https://cdn.example.com/lib.js'></script>")


class FakeLLM:
    """Each request takes the next scripted behaviour (default ``ok``) and is recorded."""

    def __init__(self) -> None:
        self.script: deque[str] = deque()
        self.calls: list[dict[str, Any]] = []
        self.variants = 0
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
        if behaviour == "broken_js":
            return self._reply(json.dumps({"html": BROKEN_JS}))
        if behaviour == "remote":
            return self._reply(json.dumps({"html": REMOTE}))
        return self._reply(json.dumps(self._content(phase)))

    def _content(self, phase: str) -> dict[str, Any]:
        if phase == "question":
            return SPEC
        if phase == "degrade":
            self.variants += 1
            return {"html": page(f"variant {self.variants}")}
        return {"html": page(phase)}


class FakeServer:
    """Runs a FakeLLM with uvicorn in a thread on a free loopback port."""

    def __init__(self) -> None:
        self.fake = FakeLLM()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.server = uvicorn.Server(
            uvicorn.Config(self.fake.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=15, what="fake LLM server start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
