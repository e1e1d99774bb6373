"""Helpers for the miner tests: a task factory, a hand-signed POST (servers run in threads by ``dojo.serving``)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import httpx
from bittensor import http_auth
from bittensor.sp_core import Keypair

from dojo.protocol import Response, Task

API_KEY = "test-api-key-0123456789"


def wallet_of(keypair: Keypair) -> Any:
    """What the miner needs of a ``bt.Wallet`` in-process: its hotkey."""
    return SimpleNamespace(hotkey=keypair)


def make_task(n: int = 4, expire_in_s: float = 60.0) -> Task:
    return Task(
        task_id=uuid.uuid4(),
        prompt="Draw a bouncing ball",
        responses=[
            Response(completion_id=uuid.uuid4(), content=f"<html><body>answer {i}</body></html>") for i in range(n)
        ],
        expire_at=datetime.now(timezone.utc) + timedelta(seconds=expire_in_s),
    )


def raw_post(
    url: str,
    path: str,
    body: bytes | dict[str, Any],
    *,
    signer: Keypair | None = None,
    receiver: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A POST signed by ``signer`` (or unsigned when None), built by hand to control every byte."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    hdrs = {"content-type": "application/json", **(headers or {})}
    if signer is not None:
        hdrs.update(http_auth.sign(signer, method="POST", path=path, body=raw, receiver_ss58=receiver))
    return httpx.post(url + path, content=raw, headers=hdrs, timeout=15.0)
