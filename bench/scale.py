"""Scale benches: (a) the worker API under many labellers, (b) a validator round at 256 miners.

``--part a`` (this file), ``--part b`` (``bench/_scale_round.py``: one validator round against a fleet
of fake miners over signed HTTP, time and peak memory per stage), ``--part all`` (default: both,
each bounded in time).

(a) The worker API with 1 and 2 processes on PostgreSQL + Redis under many labellers.

For each process count a fresh PostgreSQL database is seeded (one miner, ``--tasks`` open tasks,
``--labellers`` labellers linked to it, session tokens minted for them) and ``dojo worker-api
--workers N --redis-url …`` serves it. The client (aiohttp, in this process) then runs:

* ``human`` — every labeller at once, acting like a person: open the list (the "All" tab, a random
  sort, one of its first pages), open a task, answer it, with a pause between actions (exponential,
  mean ``--think-s``);
* ``list`` / ``fetch`` / ``submit`` — flat out with ``--concurrency`` labellers: random filter and
  sort combinations at random pages up to depth 1,000, random task reads, accepted submissions.

Every phase is bounded in requests and in seconds. Per phase it prints req/s, p50/p99 latency,
errors (any non-200) and the server's CPU seconds (supervisor + workers; PostgreSQL's and Redis's
own CPU not counted), and requests per server CPU-second. The client shares the machine's cores.

    python bench/scale.py --part a                          # small: 64 labellers, a few seconds a phase
    python bench/scale.py --part a --labellers 1000 --concurrency 256 --seconds 20
    python bench/scale.py --part b                          # 256 miners x 4 tasks (about a minute)
    python bench/scale.py --part b --miners 32 --tasks-per-miner 2   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from _servers import PG_ADMIN, drop_pg, free_port, stop, wait_ok  # bench/ is on sys.path when a bench runs

REDIS = os.environ.get("DOJO_TEST_REDIS", "redis://127.0.0.1:6379/0")
SECRET = "scale-bench-" + "x" * 40
STATUSES = ["all", "open", "completed", "expired"]
SORTS = ["newest", "oldest", "expiring", "most_answered"]


# ---------------------------------------------------------------- store
def create_pg() -> tuple[str, str]:
    import psycopg

    name = f"dojo_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name, PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{name}"


def seed(db_url: str, n_labellers: int, n_tasks: int) -> tuple[list[str], list[dict[str, Any]]]:
    """One miner, ``n_tasks`` open tasks, ``n_labellers`` linked labellers: their tokens and the tasks."""
    from sqlalchemy import create_engine, insert

    from dojo.worker_api.auth.keys import hash_key, new_key
    from dojo.worker_api.auth.tokens import LABELLER, TokenService
    from dojo.worker_api.store.db import migrate_sync, sync_url
    from dojo.worker_api.store.models import Labeller, Miner, Partnership, SubscriptionKey, Task

    migrate_sync(db_url)
    engine = create_engine(sync_url(db_url))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    tasks = [
        {
            "id": str(uuid.uuid4()),
            "miner_id": 1,
            "miner_task_id": str(uuid.uuid4()),
            "prompt": f"Build an interactive animation #{i}: a ball bouncing in a box, with gravity.",
            "responses": [
                {
                    "completion_id": str(uuid.uuid4()),
                    "content": f"<html><body><script>/*{i}.{j}*/</script></body></html>",
                }
                for j in range(4)
            ],
            "criteria": {"type": "score", "min": 1, "max": 10},
            "kind": "score",
            "n_responses": 4,
            "expire_at": now + timedelta(hours=2),
            "max_results": 1_000_000,  # never full: the bench measures requests, not completion
            "result_count": 0,
            "status": "open",
            "created_at": now + timedelta(microseconds=i),
        }
        for i in range(n_tasks)
    ]
    key, prefix = new_key("sk")
    with engine.begin() as conn:
        conn.execute(insert(Miner), [{"id": 1, "hotkey": "5" + "S" * 47, "created_at": now}])
        conn.execute(
            insert(SubscriptionKey),
            [{"id": 1, "miner_id": 1, "prefix": prefix, "key_hash": hash_key(key), "created_at": now}],
        )
        addresses = ["0x" + f"{i + 1:040x}" for i in range(n_labellers)]
        conn.execute(
            insert(Labeller), [{"id": i + 1, "address": a, "created_at": now} for i, a in enumerate(addresses)]
        )
        conn.execute(
            insert(Partnership),
            [
                {"labeller_id": i + 1, "subscription_key_id": 1, "name": "m", "created_at": now}
                for i in range(n_labellers)
            ],
        )
        for start in range(0, n_tasks, 1000):
            conn.execute(insert(Task), tasks[start : start + 1000])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # the steady state autovacuum reaches
        instance = str(conn.exec_driver_sql("SELECT id FROM instance").scalar_one())
    engine.dispose()
    tokens = TokenService(SECRET, 4 * 3600, instance=instance)
    return [tokens.issue(LABELLER, a, i + 1)[0] for i, a in enumerate(addresses)], tasks


# ---------------------------------------------------------------- server
def start_server(home: Path, db_url: str, port: int, workers: int, redis_prefix: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DOJO_HOME": str(home),
        "DOJO_WORKER_JWT_SECRET": SECRET,
        "DOJO_WORKER_RATE_LIMIT_IP": "100000000/minute",
        "DOJO_WORKER_RATE_LIMIT_LABELLER": "100000000/minute",
        "DOJO_WORKER_REDIS_PREFIX": redis_prefix,
        "DOJO_LOG_LEVEL": "WARNING",
        "DOJO_PROFILE": "prod",
    }
    args = ["worker-api", "--port", str(port), "--db-url", db_url, "--redis-url", REDIS, "--workers", str(workers)]
    return subprocess.Popen(
        [sys.executable, "-m", "dojo.cli.app", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live children (the uvicorn workers), from /proc."""
    total = 0
    try:
        pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
        for p in pids:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    except OSError:
        return float("nan")
    return total / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- load
class Phase:
    def __init__(self, name: str, latencies: list[float], elapsed: float, errors: int, cpu: float) -> None:
        lat = sorted(latencies) or [float("nan")]
        self.name, self.n, self.errors, self.cpu = name, len(latencies), errors, cpu
        self.rps = self.n / elapsed if elapsed else 0.0
        self.p50 = statistics.median(lat) * 1000
        self.p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000
        self.per_cpu = self.n / cpu if cpu > 0 else float("nan")


class Load:
    """Labellers hitting one server; each submits only to its own slice of tasks (always accepted)."""

    def __init__(self, base: str, tokens: list[str], tasks: list[dict[str, Any]], seed: int = 7) -> None:
        self.base, self.tokens, self.tasks = base, tokens, tasks
        self.rng = random.Random(seed)
        self.cursor = [0] * len(tokens)
        self.latencies: list[float] = []
        self.errors = 0

    def next_task(self, i: int) -> dict[str, Any]:
        # labeller i walks the tasks from its own starting point: never one it answered (tasks never fill up)
        n_tasks = len(self.tasks)
        task = self.tasks[(i * n_tasks // len(self.tokens) + self.cursor[i]) % n_tasks]
        self.cursor[i] += 1
        return task

    async def call(self, session: Any, i: int, method: str, path: str, body: Any = None) -> None:
        headers = {"Authorization": f"Bearer {self.tokens[i]}"}
        t0 = time.perf_counter()
        try:
            async with session.request(method, self.base + path, json=body, headers=headers) as resp:
                await resp.read()
                ok = resp.status == 200
        except Exception:  # noqa: BLE001 - a refused or dropped connection is an error of the run
            ok = False
        self.latencies.append(time.perf_counter() - t0)
        self.errors += 0 if ok else 1

    def list_path(self, deep: bool) -> str:
        if deep:  # any filter/sort, random pages up to depth 1,000
            status, sort = self.rng.choice(STATUSES), self.rng.choice(SORTS)
            return f"/api/v1/tasks?status={status}&sort={sort}&limit=20&page={self.rng.randint(1, 51)}"
        return f"/api/v1/tasks?status=all&sort={self.rng.choice(SORTS)}&limit=20&page={self.rng.randint(1, 3)}"


async def run_phase(
    load: Load, name: str, users: int, max_requests: int, max_seconds: float, think_s: float, pid: int
) -> Phase:
    import aiohttp

    load.latencies, load.errors = [], 0
    deadline = time.perf_counter() + max_seconds
    rng = load.rng

    def more() -> bool:
        return len(load.latencies) < max_requests and time.perf_counter() < deadline

    async def pause() -> None:  # never past the phase's end, so the phase's time is its requests' time
        await asyncio.sleep(max(0.0, min(rng.expovariate(1 / think_s), 4 * think_s, deadline - time.perf_counter())))

    async def person(i: int, s: Any) -> None:
        await asyncio.sleep(rng.uniform(0, min(think_s, max_seconds / 4)))  # people do not arrive all at once
        while more():
            await load.call(s, i, "GET", load.list_path(deep=False))
            await pause()
            task = load.next_task(i)
            if not more():
                return
            await load.call(s, i, "GET", f"/api/v1/tasks/{task['id']}")
            await pause()
            if not more():
                return
            scores = {r["completion_id"]: rng.randint(1, 10) for r in task["responses"]}
            await load.call(s, i, "PUT", f"/api/v1/tasks/{task['id']}/result", {"scores": scores})
            await pause()

    async def flat(i: int, s: Any) -> None:
        while more():
            if name == "list":
                await load.call(s, i, "GET", load.list_path(deep=True))
            elif name == "fetch":
                await load.call(s, i, "GET", f"/api/v1/tasks/{rng.choice(load.tasks)['id']}")
            else:
                task = load.next_task(i)
                scores = {r["completion_id"]: 5 for r in task["responses"]}
                await load.call(s, i, "PUT", f"/api/v1/tasks/{task['id']}/result", {"scores": scores})

    worker = person if name == "human" else flat
    connector = aiohttp.TCPConnector(limit=users)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as s:
        cpu0, t0 = tree_cpu_seconds(pid), time.perf_counter()
        await asyncio.gather(*(worker(i, s) for i in range(users)))
        elapsed, cpu = time.perf_counter() - t0, tree_cpu_seconds(pid) - cpu0
    return Phase(name, load.latencies, elapsed, load.errors, cpu)


def bench(workers: int, args: argparse.Namespace, home: Path) -> list[Phase]:
    name, url = create_pg()
    prefix = f"dojo-scale:{uuid.uuid4().hex[:8]}:"
    server = None
    try:
        t0 = time.perf_counter()
        tokens, tasks = seed(url, args.labellers, args.tasks)
        print(
            f"[{workers} proc] seeded {args.tasks} tasks, {args.labellers} labellers in {time.perf_counter() - t0:.1f} s"
        )
        port = free_port()
        server = start_server(home / f"w{workers}", url, port, workers, prefix)
        wait_ok(f"http://127.0.0.1:{port}/health", server)
        load = Load(f"http://127.0.0.1:{port}", tokens, tasks)
        flat_users = min(args.concurrency, args.labellers)
        out = []
        asyncio.run(run_phase(load, "fetch", flat_users, 300, 2.0, 0, server.pid))  # warm-up: pools, caches
        out.append(
            asyncio.run(
                run_phase(load, "human", args.labellers, args.requests, args.seconds * 2, args.think_s, server.pid)
            )
        )
        for phase in ("list", "fetch", "submit"):
            out.append(asyncio.run(run_phase(load, phase, flat_users, args.requests, args.seconds, 0, server.pid)))
        return out
    finally:
        if server is not None:
            stop(server)
        drop_pg(name)
        import redis

        with redis.Redis.from_url(REDIS) as r:
            keys = list(r.scan_iter(match=prefix + "*", count=1000))
            if keys:
                r.delete(*keys)


def main() -> None:
    import _scale_round as scale_round  # part (b); bench/ is on sys.path

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["a", "b", "all"], default="all", help="which bench to run")
    parser.add_argument("--labellers", type=int, default=64, help="simulated people in the human phase (≤ 1000)")
    parser.add_argument("--concurrency", type=int, default=32, help="labellers in the flat-out phases")
    parser.add_argument("--tasks", type=int, default=2000, help="open tasks seeded")
    parser.add_argument("--seconds", type=float, default=5.0, help="bound of each flat-out phase (human: twice)")
    parser.add_argument("--requests", type=int, default=4000, help="bound of requests per phase")
    parser.add_argument("--think-s", type=float, default=1.0, help="mean pause of a person between actions")
    parser.add_argument("--processes", default="1,2", help="worker-API process counts to compare")
    round_args = parser.add_argument_group("part b: a validator round")
    scale_round.add_arguments(round_args)  # type: ignore[arg-type]
    args = parser.parse_args()
    if not 1 <= args.labellers <= 1000:
        parser.error("--labellers must be within 1..1000")
    if args.part in ("a", "all"):
        run_worker_api(args)
    if args.part in ("b", "all"):
        scale_round.run(args)


def run_worker_api(args: argparse.Namespace) -> None:
    """Part (a): the worker API with each process count, then the table."""
    import tempfile

    rows: dict[int, list[Phase]] = {}
    with tempfile.TemporaryDirectory(prefix="dojo-scale-") as tmp:
        for n in [int(x) for x in args.processes.split(",")]:
            rows[n] = bench(n, args, Path(tmp))
    print(
        f"\nworker API on PostgreSQL + Redis: {args.labellers} people (pause ~{args.think_s:g} s), "
        f"flat-out phases with {min(args.concurrency, args.labellers)} labellers, {args.tasks} tasks"
    )
    print(
        f"{'proc':>4} {'phase':<7} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'srv CPU s':>9} {'req/CPU-s':>9}"
    )
    for n, phases in rows.items():
        for p in phases:
            print(
                f"{n:>4} {p.name:<7} {p.n:>8} {p.rps:>8.0f} {p.p50:>8.1f} {p.p99:>8.1f} {p.errors:>6} {p.cpu:>9.2f} {p.per_cpu:>9.0f}"
            )
    if 1 in rows and 2 in rows:
        print(
            "\nratio 2 processes / 1, req/s per phase: "
            + ", ".join(f"{a.name} {b.rps / a.rps:.2f}" for a, b in zip(rows[1], rows[2], strict=True) if a.rps)
        )


if __name__ == "__main__":
    main()
