"""``dojo.serving``: one way to start a service, in-process or in a thread, with a clear error on a taken port."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from fastapi import FastAPI

from dojo import serving
from dojo.errors import DojoError


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(0.3)
        return {"done": "yes"}

    return app


def test_build_config_has_the_shared_defaults_and_takes_overrides() -> None:
    config = serving.build_config(_app(), "127.0.0.1", 1234, lifespan="off")
    assert (config.host, config.port, config.lifespan) == ("127.0.0.1", 1234, "off")
    assert config.access_log is False and config.server_header is False and config.proxy_headers is False


def test_a_taken_port_is_a_dojo_error_naming_the_service_and_the_hint() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(DojoError, match=f"the API cannot listen on 127.0.0.1:{port}: .* \\(try another\\)"):
            serving.listen("127.0.0.1", port, service="the API", hint="try another")


async def test_start_answers_at_once_and_stop_finishes_the_request_in_flight() -> None:
    sock = serving.listen("127.0.0.1", 0)
    running = await serving.start(
        serving.build_config(_app(), "127.0.0.1", sock.getsockname()[1]), service="test", sock=sock
    )
    assert running.port == sock.getsockname()[1] and running.url == f"http://127.0.0.1:{running.port}"
    async with httpx.AsyncClient(base_url=running.url, timeout=5) as http:
        in_flight = asyncio.create_task(http.get("/slow"))
        await asyncio.sleep(0.1)  # the request has reached the handler
        await running.stop()
        assert (await in_flight).json() == {"done": "yes"}
        assert running.task.done() and sock.fileno() == -1
        with pytest.raises(httpx.ConnectError):
            await http.get("/slow")


def test_start_thread_serves_on_a_free_port_until_stopped() -> None:
    with serving.start_thread(_app()) as server:
        assert httpx.get(f"{server.url}/slow", timeout=5).json() == {"done": "yes"}
    assert not server.thread.is_alive()


def test_start_thread_on_a_socket_bound_first_knows_its_port_before_the_app_is_built() -> None:
    sock = serving.listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = _app()

    @app.get("/port")
    async def own_port() -> dict[str, int]:
        return {"port": port}

    with serving.start_thread(app, sock=sock, lifespan="off") as server:
        assert server.port == port and server.url == f"http://127.0.0.1:{port}"
        assert server.server.config.port == port and server.server.config.lifespan == "off"
        assert httpx.get(f"{server.url}/port", timeout=5).json() == {"port": port}
    assert not server.thread.is_alive() and sock.fileno() == -1
