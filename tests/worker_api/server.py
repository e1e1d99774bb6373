"""A real uvicorn server running an app in a thread, on a free loopback port."""

from __future__ import annotations

import threading
from typing import Any

import uvicorn
from tests.support import free_port, wait_until


class ServerThread:
    """``with ServerThread(app) as url:`` serves ``app`` until the block ends."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="on",
                access_log=False,
                timeout_keep_alive=120,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        wait_until(lambda: self.server.started or not self.thread.is_alive(), timeout=30, what="uvicorn start")
        assert self.server.started, "uvicorn failed to start"
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "uvicorn did not stop"
