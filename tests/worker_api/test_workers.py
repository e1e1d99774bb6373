"""``dojo worker-api --workers N``: several real processes behind one port keep one truth.

Refused with a clear error on SQLite or without Redis. On PostgreSQL + Redis, two processes serve
one port and, with every request on a fresh connection (so the kernel spreads them over both), the
guarantees still hold: exactly ``max_results`` of many concurrent submissions are accepted, a login
nonce works once, another miner's key and an unlinked labeller are refused, and a logout is honoured
by every process.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, insert
from tests.conftest import REDIS_URL
from tests.support import free_port, start_dojo, stop, wait_http_ok, wait_until
from tests.worker_api.helpers import body, new_account, scores_for, sign_text, siwe_message, task_json

from dojo.worker_api.auth.keys import hash_key, new_key
from dojo.worker_api.store.db import migrate_sync, sync_url
from dojo.worker_api.store.models import ApiKey, Miner, SubscriptionKey, utcnow

N_LABELLERS = 12
MAX_RESULTS = 3


def _refusal(tmp_home: Path, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "dojo.cli.app", "worker-api", "--workers", "2", "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"DOJO_HOME": str(tmp_home / ".dojo"), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
    )
    assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
    return " ".join((out.stdout + out.stderr).split())


def test_several_workers_are_refused_on_sqlite_or_without_redis(tmp_home: Path) -> None:
    assert "--workers 2 needs PostgreSQL" in _refusal(tmp_home)
    pg = "postgresql+psycopg://postgres@127.0.0.1:5432/unused"
    assert "--workers 2 needs Redis" in _refusal(tmp_home, "--db-url", pg)


def _seed_miners(pg_url: str) -> list[tuple[str, str]]:
    """Two miners, each with an API key and a subscription key: ``[(api_key, sub_key), …]``."""
    migrate_sync(pg_url)
    engine = create_engine(sync_url(pg_url))
    keys = []
    with engine.begin() as conn:
        for m in (1, 2):
            conn.execute(insert(Miner).values(id=m, hotkey=f"hotkey-{m}", created_at=utcnow()))
            pair = []
            for model, kind in ((ApiKey, "ak"), (SubscriptionKey, "sk")):
                key, prefix = new_key(kind)
                conn.execute(
                    insert(model).values(miner_id=m, prefix=prefix, key_hash=hash_key(key), created_at=utcnow())
                )
                pair.append(key)
            keys.append((pair[0], pair[1]))
    engine.dispose()
    return keys


def _workers(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in children if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _fresh() -> httpx.AsyncClient:
    """A client that opens a new connection per request, so requests land on either process."""
    return httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0), timeout=30)


async def _login(c: httpx.AsyncClient, base: str) -> tuple[dict[str, str], str, str]:
    account = new_account()
    n = body(await c.get(f"{base}/api/v1/auth/nonce", params={"address": account.address}))
    msg = siwe_message(account.address, n["nonce"], domain=n["domain"])
    sig = sign_text(account, msg)
    token = body(await c.post(f"{base}/api/v1/worker/login", json={"message": msg, "signature": sig}))["token"]
    return {"Authorization": f"Bearer {token}"}, msg, sig


async def _exercise(base: str, keys: list[tuple[str, str]]) -> None:
    (api_a, sub_a), (api_b, sub_b) = keys
    async with _fresh() as c:
        made = task_json(max_results=MAX_RESULTS)
        created = body(await c.post(f"{base}/api/v1/tasks", json=made, headers={"X-API-KEY": api_a}))
        task_id = created["worker_task_id"]

        logins = await asyncio.gather(*(_login(c, base) for _ in range(N_LABELLERS)))
        labellers = [h for h, _, _ in logins]
        for h in labellers:
            body(
                await c.post(f"{base}/api/v1/worker/partners", json={"name": "a", "subscription_key": sub_a}, headers=h)
            )

        # a used login message is refused by every process
        _, msg, sig = logins[0]
        replays = [
            await c.post(f"{base}/api/v1/worker/login", json={"message": msg, "signature": sig}) for _ in range(6)
        ]
        assert all(r.status_code == 401 for r in replays), [r.status_code for r in replays]

        # exactly max_results of many concurrent submissions are accepted
        answer = {"scores": scores_for(made)}
        subs = await asyncio.gather(
            *(c.put(f"{base}/api/v1/tasks/{task_id}/result", json=answer, headers=h) for h in labellers)
        )
        codes = Counter(r.status_code for r in subs)
        assert codes[200] == MAX_RESULTS and sum(codes.values()) == N_LABELLERS, codes
        assert set(codes) <= {200, 409, 422}, codes
        results = body(await c.get(f"{base}/api/v1/tasks/{task_id}/results", headers={"X-API-KEY": api_a}))
        assert len(results["results"]) == MAX_RESULTS

        # another miner's key, an unlinked labeller: refused whichever process answers
        stranger, _, _ = await _login(c, base)
        body(
            await c.post(
                f"{base}/api/v1/worker/partners", json={"name": "b", "subscription_key": sub_b}, headers=stranger
            )
        )
        for _ in range(6):
            assert (
                await c.get(f"{base}/api/v1/tasks/{task_id}/results", headers={"X-API-KEY": api_b})
            ).status_code == 403
            assert (await c.get(f"{base}/api/v1/tasks/{task_id}", headers=stranger)).status_code == 404
            assert (await c.get(f"{base}/api/v1/tasks/{task_id}", headers=labellers[1])).status_code == 200

        # a logout reaches every process (each re-checks a token at most once a second)
        gone = labellers[-1]
        body(await c.post(f"{base}/api/v1/worker/logout", headers=gone))

        def refused_everywhere() -> bool:
            async def probe() -> list[int]:
                async with _fresh() as p:
                    got = [await p.get(f"{base}/api/v1/tasks", headers=gone) for _ in range(8)]
                return [r.status_code for r in got]

            return all(code == 401 for code in asyncio.run(probe()))

        await asyncio.to_thread(wait_until, refused_everywhere, 10.0, 0.2, "the logout honoured by both processes")
        await asyncio.gather(*(c.get(f"{base}/api/v1/tasks", headers=h) for h in labellers[:-1] for _ in range(4)))


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
def test_two_processes_behind_one_port_keep_the_rules(
    tmp_home: Path, tmp_path: Path, pg_url: str, redis_prefix: str
) -> None:
    keys = _seed_miners(pg_url)
    port = free_port()
    env = {
        "DOJO_HOME": str(tmp_home / ".dojo"),
        "DOJO_PROFILE": "fast",
        "DOJO_WORKER_REDIS_PREFIX": redis_prefix,
        "DOJO_WORKER_RATE_LIMIT_IP": "100000/minute",
        "DOJO_WORKER_RATE_LIMIT_LABELLER": "100000/minute",
        "DOJO_WORKER_JWT_SECRET": "multi-" + uuid.uuid4().hex * 2,
    }
    args = ["worker-api", "--workers", "2", "--port", str(port), "--db-url", pg_url, "--redis-url", REDIS_URL]
    proc = start_dojo(args, env, tmp_path / "wa.log")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http_ok(base + "/health", timeout=60)
        workers: list[int] = wait_until(
            lambda: len(_workers(proc.pid)) == 2 and _workers(proc.pid), 30, what="2 workers"
        )
        before = {w: _cpu_ticks(w) for w in workers}
        asyncio.run(_exercise(base, keys))
        spent = {w: _cpu_ticks(w) - before[w] for w in workers}
        assert all(t > 0 for t in spent.values()), f"one process served nothing: CPU ticks {spent}"
    finally:
        code = stop(proc, timeout=20)
    log = (tmp_path / "wa.log").read_text()
    assert code in (0, -15) and "Traceback" not in log, log[-3000:]
    assert log.count("worker_api.started") == 2, log[-3000:]
