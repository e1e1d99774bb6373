"""``dojo.http_errors``: one mapping of errors to replies, in the envelope or the ``detail`` shape."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from redis.exceptions import ConnectionError as RedisConnectionError

from dojo.errors import ApiError, DojoError
from dojo.http_errors import DETAIL, ENVELOPE, ReplyShape, install_error_handlers, ok


class In(BaseModel):
    n: int


def _app(shape: ReplyShape) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, shape)

    @app.get("/refused")
    async def refused() -> None:
        raise ApiError(409, "taken: choose another name", {"X-Why": "test"})

    @app.get("/redis")
    async def redis_down() -> None:
        raise RedisConnectionError("gone")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail")

    @app.post("/in")
    async def take(body: In) -> dict[str, object]:
        return ok(body.n)

    return app


async def _get(app: FastAPI, method: str, path: str, **kw: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.request(method, path, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("shape", "message_of"),
    [
        (ENVELOPE, lambda j: j["error"] if j["success"] is False and j["body"] is None else None),
        (DETAIL, lambda j: j["detail"]),
    ],
)
async def test_every_refusal_leaves_in_the_apps_shape(shape: ReplyShape, message_of) -> None:
    app = _app(shape)
    r = await _get(app, "GET", "/refused")
    assert (
        r.status_code == 409 and message_of(r.json()) == "taken: choose another name" and r.headers["x-why"] == "test"
    )
    r = await _get(app, "GET", "/nowhere")
    assert r.status_code == 404 and message_of(r.json()) == "Not Found"
    r = await _get(app, "POST", "/in", json={"n": "x"})
    assert r.status_code == 422 and message_of(r.json()).startswith("invalid request: n:")
    r = await _get(app, "GET", "/redis")
    assert r.status_code == 503 and r.headers["retry-after"] == "2" and "Redis" in message_of(r.json())
    r = await _get(app, "GET", "/boom")
    assert r.status_code == 500 and message_of(r.json()) == "internal error"
    r = await _get(app, "POST", "/in", json={"n": 3})
    assert r.json() == {"success": True, "body": 3, "error": None}


def test_api_error_is_a_dojo_error() -> None:
    assert issubclass(ApiError, DojoError)
