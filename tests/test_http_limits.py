"""``dojo.http_limits.BodyLimit``: a body above the limit is refused with 413 before the app reads it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request

from dojo.http_limits import BodyLimit


def _app(read: list[bytes]) -> FastAPI:
    app = FastAPI()

    @app.post("/{name}")
    async def take(name: str, request: Request) -> dict[str, int]:
        body = await request.body()
        read.append(body)
        return {"n": len(body)}

    app.add_middleware(BodyLimit, limit_for=lambda _method, path: 100 if path == "/big" else 10)
    return app


async def _post(app: FastAPI, path: str, **kw: object) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        return await http.post(path, **kw)  # type: ignore[arg-type]


async def _chunks(n: int) -> AsyncIterator[bytes]:
    for _ in range(n):
        yield b"abcd"


async def test_a_body_within_the_limit_reaches_the_app_whole() -> None:
    read: list[bytes] = []
    app = _app(read)
    r = await _post(app, "/small", content=b"0123456789")
    assert r.status_code == 200 and r.json() == {"n": 10} and read == [b"0123456789"]
    r = await _post(app, "/big", content=_chunks(20))  # chunked, no Content-Length: counted as it streams
    assert r.status_code == 200 and r.json() == {"n": 80} and read[-1] == b"abcd" * 20


async def test_a_declared_length_above_the_limit_is_refused_unread() -> None:
    read: list[bytes] = []
    r = await _post(_app(read), "/small", content=b"x" * 11)
    assert r.status_code == 413 and read == []
    assert r.content == b'{"detail": "request body of 11 bytes exceeds the limit of 10 bytes"}'
    assert r.headers["content-type"] == "application/json" and r.headers["connection"] == "close"


async def test_a_streamed_body_above_the_limit_is_refused() -> None:
    read: list[bytes] = []
    r = await _post(_app(read), "/small", content=_chunks(3))
    assert r.status_code == 413 and read == []
    assert r.json() == {"detail": "request body exceeds the limit of 10 bytes"}


async def test_an_invalid_content_length_is_a_400() -> None:
    read: list[bytes] = []
    r = await _post(_app(read), "/small", content=b"x", headers={"Content-Length": "many"})
    assert r.status_code == 400 and r.json() == {"detail": "invalid Content-Length header"} and read == []


def test_the_external_task_api_takes_the_limit_from_the_shared_module_not_the_miner() -> None:
    import ast
    from pathlib import Path

    import dojo.validator

    for path in Path(dojo.validator.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            assert not any(n == "dojo.miner" or n.startswith("dojo.miner.") for n in names), path
