"""The synthetic API on a real uvicorn: buffer kept full, pop / 204, health, metrics, failures survived."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from dojo.config import load_settings
from dojo.synthetic.generators import ProceduralGenerator
from dojo.synthetic.models import SyntheticTask
from dojo.synthetic.service import create_app
from dojo.synthetic.validation import document_error
from support import free_port, serving_at, start_dojo, stop, wait_http_ok, wait_until

REDIS_URL = os.environ.get("DOJO_TEST_REDIS", "redis://127.0.0.1:6379/0")  # as in conftest.py


class Flaky:
    """Makes ``good`` tasks, then fails on every call."""

    name = "flaky"

    def __init__(self, good: int) -> None:
        self.inner = ProceduralGenerator(seed=100)
        self.good = good
        self.calls = 0

    def generate(self) -> SyntheticTask:
        self.calls += 1
        if self.calls > self.good:
            raise RuntimeError("generator exploded")
        return self.inner.generate()


def test_buffer_fills_and_pops_valid_tasks(tmp_home: Path) -> None:
    settings = load_settings(synthetic__buffer_size=5, synthetic__generator="procedural", synthetic__seed=9)
    with serving_at(create_app(settings)) as url:
        wait_until(lambda: httpx.get(f"{url}/health").json()["buffered"] == 5, timeout=20, what="buffer full")
        health = httpx.get(f"{url}/health").json()
        assert health["status"] == "ok" and health["generator"] == "procedural" and health["buffer"] == "memory"
        seen = set()
        for _ in range(8):
            reply = httpx.get(f"{url}/api/v1/tasks/next", timeout=5)
            if reply.status_code == 204:
                continue
            assert reply.status_code == 200
            task = SyntheticTask.model_validate_json(reply.content)
            assert task.task_id not in seen
            seen.add(task.task_id)
            assert all(document_error(r.content) is None for r in task.responses)
        assert len(seen) >= 5
        wait_until(lambda: httpx.get(f"{url}/health").json()["buffered"] == 5, timeout=20, what="buffer refilled")
        metrics = httpx.get(f"{url}/metrics").text
        assert "dojo_synthetic_tasks_served_total" in metrics
        served = next(line for line in metrics.splitlines() if line.startswith("dojo_synthetic_tasks_served_total"))
        assert float(served.split()[-1]) == len(seen)


def test_generator_errors_never_lose_buffered_tasks_nor_kill_the_service(tmp_home: Path) -> None:
    gen = Flaky(good=2)
    settings = load_settings(synthetic__buffer_size=4)
    with serving_at(create_app(settings, generator=gen, backoff_s=0.01)) as url:
        wait_until(lambda: httpx.get(f"{url}/health").json()["generator_errors"] >= 3, timeout=20, what="errors")
        health = httpx.get(f"{url}/health").json()
        assert health["buffered"] == 2 and "generator exploded" in health["last_error"]
        ids = []
        for _ in range(2):
            reply = httpx.get(f"{url}/api/v1/tasks/next")
            assert reply.status_code == 200
            ids.append(SyntheticTask.model_validate_json(reply.content).task_id)
        assert len(set(ids)) == 2
        started = time.monotonic()
        empty = httpx.get(f"{url}/api/v1/tasks/next")
        assert empty.status_code == 204 and empty.content == b""
        assert time.monotonic() - started < 1.0  # never waits for generation
        assert httpx.get(f"{url}/health").status_code == 200
        assert "dojo_synthetic_empty_pops_total 1.0" in httpx.get(f"{url}/metrics").text


@pytest.mark.redis
def test_redis_buffer_is_shared_and_outlives_the_service(tmp_home: Path, redis_prefix: str) -> None:
    import redis

    key = redis_prefix + "tasks"
    settings = load_settings(
        redis_url=REDIS_URL,
        synthetic__redis_key=key,
        synthetic__buffer_size=3,
        synthetic__generator="procedural",
        synthetic__seed=1,
    )
    with serving_at(create_app(settings)) as url:
        wait_until(lambda: httpx.get(f"{url}/health").json()["buffered"] == 3, timeout=20, what="redis buffer full")
        assert httpx.get(f"{url}/health").json()["buffer"] == "redis"
        reply = httpx.get(f"{url}/api/v1/tasks/next")
        assert reply.status_code == 200
        SyntheticTask.model_validate_json(reply.content)
        wait_until(lambda: httpx.get(f"{url}/health").json()["buffered"] == 3, timeout=20, what="redis refill")
    client = redis.Redis.from_url(REDIS_URL)
    assert client.llen(key) == 3  # still there after the service stopped
    SyntheticTask.model_validate_json(client.lindex(key, 0))
    client.close()


def test_cli_serves_tasks_and_llm_without_key_falls_back_with_one_warning(tmp_home: Path, tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "synthetic.log"
    proc = start_dojo(
        ["synthetic-api", "--port", str(port), "--generator", "llm", "--buffer-size", "2"],
        env={"DOJO_SYNTHETIC_LLM_API_KEY": ""},
        log_path=log_path,
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/health", timeout=30)
        assert httpx.get(f"http://127.0.0.1:{port}/health").json()["generator"] == "procedural"
        reply = wait_until(
            lambda: (r := httpx.get(f"http://127.0.0.1:{port}/api/v1/tasks/next")).status_code == 200 and r,
            timeout=20,
            what="a task",
        )
        assert SyntheticTask.model_validate_json(reply.content).metadata["generator"] == "procedural"
    finally:
        assert stop(proc) in (0, -15)
    lines = [line for line in log_path.read_text().splitlines() if "generator_fallback" in line]
    assert len(lines) == 1 and "level=warning" in lines[0] and "DOJO_SYNTHETIC_LLM_API_KEY" in lines[0]
    assert "Traceback" not in log_path.read_text()


def test_a_dead_redis_gives_clear_503s_and_the_service_stays_up(tmp_home: Path) -> None:
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings = load_settings(redis_url=dead, synthetic__generator="procedural", synthetic__buffer_size=2)
    with serving_at(create_app(settings, backoff_s=0.01)) as url:
        for _ in range(3):
            reply = httpx.get(f"{url}/api/v1/tasks/next", timeout=10)
            assert reply.status_code == 503 and "task buffer unavailable" in reply.json()["detail"]
        health = httpx.get(f"{url}/health", timeout=10)
        assert health.status_code == 503 and health.json()["status"] == "degraded"
        wait_until(
            lambda: httpx.get(f"{url}/health", timeout=10).json()["generator_errors"] >= 1,
            timeout=20,
            what="the filler to report the outage",
        )
