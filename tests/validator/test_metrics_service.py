"""The validator's metrics listener and the loop errors it counts."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest

from dojo.errors import ChainUnavailable
from dojo.metrics_http import serve_metrics
from dojo.validator.metrics import ValidatorMetrics
from dojo.validator.service import Intervals, ValidatorService
from support import free_port


def test_listener_serves_on_loopback_and_closes() -> None:
    m = ValidatorMetrics()
    server = serve_metrics(m.registry, "127.0.0.1", free_port(), "validator")
    assert server is not None
    try:
        assert server.url.startswith("http://127.0.0.1:")
        reply = httpx.get(server.url, timeout=5)
        assert reply.status_code == 200 and "dojo_validator_spec_version" in reply.text
    finally:
        server.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)


def test_port_zero_is_off_and_a_taken_port_is_an_error_not_a_crash(caplog: pytest.LogCaptureFixture) -> None:
    m = ValidatorMetrics()
    assert serve_metrics(m.registry, "127.0.0.1", 0, "validator") is None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with caplog.at_level(logging.ERROR):
            assert serve_metrics(m.registry, "127.0.0.1", port, "validator") is None
    assert any("metrics.unavailable" in r.getMessage() for r in caplog.records)


async def test_failed_loop_passes_and_chain_errors_are_counted(make_engine) -> None:
    engine, _, _, _ = make_engine(["good"])
    service = ValidatorService(engine, Intervals(heartbeat=0.01, new_round=1, settle=1, weights=1))
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls >= 3:
            service.stop_event.set()
        raise ChainUnavailable("cannot reach the chain")

    await asyncio.wait_for(service._loop("heartbeat", 0.01, step), 10)
    text = engine.metrics.render().decode()
    assert 'dojo_validator_loop_errors_total{loop="heartbeat"} 3.0' in text
    assert 'dojo_validator_chain_errors_total{op="heartbeat"} 3.0' in text
