"""Worker API benchmark: 32 concurrent labellers over 10,000 tasks, against a bare FastAPI peer.

For SQLite and PostgreSQL (when reachable) a real ``dojo worker-api`` process serves a store
seeded with 10,000 open tasks of one miner and 32 labellers linked to it. The client (aiohttp, in
this process) runs 32 concurrent labellers through three phases — task list, task fetch, result
submission — each bounded in requests and in time. The peer is a bare FastAPI app in its own
uvicorn process answering the same paths with the same JSON (captured from the real server in the
same run) and no database, measured right after each worker-API phase so both see the same machine
load: the ratio says how close the worker API is to the framework's limit.

    python bench/worker_api.py [--quick] [--in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fastapi import Request  # module level: the bare peer's handler annotation is resolved from these globals

from _servers import PG_ADMIN, drop_pg, free_port, stop, wait_ok  # bench/ is on sys.path when a bench runs

LABELLERS = 32
TASKS = 10_000
PHASE_REQUESTS = 4_000  # per phase, at most
PHASE_SECONDS = 8.0  # per phase, at most
SECRET = "bench-secret-" + "x" * 40
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- the bare peer (its own process)
def bare_app(samples_path: str) -> Any:
    """FastAPI answering the benchmarked paths with captured JSON, no database, no auth."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    samples = json.loads(Path(samples_path).read_text())
    app = FastAPI()

    @app.get("/api/v1/tasks")
    async def list_() -> JSONResponse:
        return JSONResponse(samples["list"])

    @app.get("/api/v1/tasks/{task_id}")
    async def fetch(task_id: str) -> JSONResponse:
        return JSONResponse(samples["fetch"])

    @app.put("/api/v1/tasks/{task_id}/result")
    async def submit(task_id: str, request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse(samples["submit"])

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"success": True}

    return app


def run_bare(port: int, samples_path: str) -> None:
    import uvicorn

    uvicorn.run(bare_app(samples_path), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------- seeding the store
def seed(db_url: str) -> tuple[list[str], list[dict[str, Any]]]:
    """10,000 open tasks of one miner, 32 linked labellers; returns their tokens and the tasks."""
    from sqlalchemy import create_engine, insert

    from dojo.worker_api.auth.keys import hash_key, new_key
    from dojo.worker_api.auth.tokens import LABELLER, TokenService
    from dojo.worker_api.store.db import migrate_sync, sync_url
    from dojo.worker_api.store.models import Labeller, Miner, Partnership, SubscriptionKey, Task

    migrate_sync(db_url)
    engine = create_engine(sync_url(db_url))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    tasks = []
    for i in range(TASKS):
        responses = [
            {
                "completion_id": str(uuid.uuid4()),
                "content": f"<html><body><canvas id=c{j}></canvas>"
                f"<script>/* task {i} answer {j} */</script></body></html>",
            }
            for j in range(4)
        ]
        tasks.append(
            {
                "id": str(uuid.uuid4()),
                "miner_id": 1,
                "miner_task_id": str(uuid.uuid4()),
                "prompt": f"Build an interactive animation #{i}: a ball bouncing in a box, with gravity.",
                "responses": responses,
                "criteria": {"type": "score", "min": 1, "max": 10},
                "n_responses": 4,
                "expire_at": now + timedelta(hours=2),
                "max_results": 3,
                "result_count": 0,
                "status": "open",
                "created_at": now + timedelta(microseconds=i),
            }
        )
    key, prefix = new_key("sk")
    with engine.begin() as conn:
        conn.execute(insert(Miner), [{"id": 1, "hotkey": "5" + "B" * 47, "created_at": now}])
        conn.execute(
            insert(SubscriptionKey),
            [{"id": 1, "miner_id": 1, "prefix": prefix, "key_hash": hash_key(key), "created_at": now}],
        )
        conn.execute(
            insert(Labeller),
            [{"id": i + 1, "address": "0x" + f"{i + 1:040x}", "created_at": now} for i in range(LABELLERS)],
        )
        conn.execute(
            insert(Partnership),
            [
                {"labeller_id": i + 1, "subscription_key_id": 1, "name": "m", "created_at": now}
                for i in range(LABELLERS)
            ],
        )
        for start in range(0, TASKS, 1000):
            conn.execute(insert(Task), tasks[start : start + 1000])
    if engine.dialect.name == "postgresql":  # the steady state autovacuum reaches: visibility map and statistics
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    with engine.connect() as conn:  # tokens name the database's instance as their issuer
        instance = str(conn.exec_driver_sql("SELECT id FROM instance").scalar_one())
    engine.dispose()
    tokens = TokenService(SECRET, 3600, instance=instance)
    return [tokens.issue(LABELLER, "0x" + f"{i + 1:040x}", i + 1)[0] for i in range(LABELLERS)], tasks


# ---------------------------------------------------------------- processes
def start_worker_api(home: Path, db_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DOJO_HOME": str(home),
        "DOJO_WORKER_DB_URL": db_url,
        "DOJO_WORKER_JWT_SECRET": SECRET,
        "DOJO_WORKER_RATE_LIMIT_IP": "100000000/minute",
        "DOJO_WORKER_RATE_LIMIT_LABELLER": "100000000/minute",
        "DOJO_LOG_LEVEL": "WARNING",
        "DOJO_PROFILE": "prod",
    }
    env.pop("DOJO_REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "dojo.cli.app", "worker-api", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# ---------------------------------------------------------------- load
def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Phase:
    """One phase's figures; ``cpu`` is the server process's CPU time over the phase."""

    def __init__(
        self, name: str, latencies: list[float], elapsed: float, errors: int, cpu: float = float("nan")
    ) -> None:
        self.name, self.n, self.elapsed, self.errors, self.cpu = name, len(latencies), elapsed, errors, cpu
        lat = sorted(latencies) or [float("nan")]
        self.rps = self.n / elapsed if elapsed else 0.0
        # requests per second of server CPU: what the server could do with a core to itself (load-independent)
        self.per_cpu_s = self.n / cpu if cpu and cpu == cpu else float("nan")
        self.p50 = statistics.median(lat) * 1000
        self.p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000


async def run_phase(
    base: str, name: str, tokens: list[str], tasks: list[dict[str, Any]], max_requests: int, max_seconds: float
) -> Phase:
    """32 labellers in parallel until ``max_requests`` are done or ``max_seconds`` have passed."""
    import aiohttp

    latencies: list[float] = []
    errors = 0
    issued = 0
    rng = random.Random(7)
    deadline = time.perf_counter() + max_seconds
    # each labeller submits to its own slice of tasks, so every submission is a legal, accepted one
    cursor = [0] * len(tokens)

    async def labeller(i: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors, issued
        headers = {"Authorization": f"Bearer {tokens[i]}"}
        while issued < max_requests and time.perf_counter() < deadline:
            issued += 1
            if name == "list":
                method, url, body = "GET", f"{base}/api/v1/tasks?status=open&limit=20&page={rng.randint(1, 50)}", None
            elif name == "fetch":
                method, url, body = "GET", f"{base}/api/v1/tasks/{tasks[rng.randrange(TASKS)]['id']}", None
            else:
                task = tasks[(cursor[i] * len(tokens) + i) % TASKS]
                cursor[i] += 1
                method, url = "PUT", f"{base}/api/v1/tasks/{task['id']}/result"
                body = {"scores": {r["completion_id"]: 5 for r in task["responses"]}}
            t0 = time.perf_counter()
            async with session.request(method, url, json=body, headers=headers) as resp:
                await resp.read()
                ok = resp.status == 200
            latencies.append(time.perf_counter() - t0)
            errors += 0 if ok else 1

    conn = aiohttp.TCPConnector(limit=len(tokens))
    async with aiohttp.ClientSession(connector=conn) as session:
        start = time.perf_counter()
        await asyncio.gather(*(labeller(i, session) for i in range(len(tokens))))
        elapsed = time.perf_counter() - start
    return Phase(name, latencies, elapsed, errors)


async def capture(base: str, tokens: list[str], task: dict[str, Any]) -> dict[str, Any]:
    """The real server's JSON for one list, one fetch and one (accepted) submission."""
    import aiohttp

    headers = {"Authorization": f"Bearer {tokens[0]}"}
    async with aiohttp.ClientSession(headers=headers) as s:
        async with s.get(f"{base}/api/v1/tasks?status=open&limit=20&page=3") as r:
            lst = await r.json()
        async with s.get(f"{base}/api/v1/tasks/{task['id']}") as r:
            fetch = await r.json()
        scores = {c["completion_id"]: 5 for c in task["responses"]}
        async with s.put(f"{base}/api/v1/tasks/{task['id']}/result", json={"scores": scores}) as r:
            submit = await r.json()
    assert lst["success"] and fetch["success"] and submit["success"], (lst, fetch, submit)
    return {"list": lst, "fetch": fetch, "submit": submit}


async def measure(
    base: str,
    bare: str,
    tokens: list[str],
    tasks: list[dict[str, Any]],
    limit: int,
    seconds: float,
    pids: dict[str, int],
) -> dict[str, dict[str, Phase]]:
    """Each phase on the worker API, then at once on the bare peer, so both see the same machine load."""
    out: dict[str, dict[str, Phase]] = {"db": {}, "bare": {}}
    for name in ("list", "fetch", "submit"):
        # submissions go to tasks[1:] (tasks[0] was answered while capturing); each run gets fresh tasks
        pool = tasks[1:] if name == "submit" else tasks
        for key, url in (("db", base), ("bare", bare)):
            await run_phase(url, "fetch" if name == "submit" else name, tokens, tasks, 200, 2.0)  # warm-up
            cpu0 = cpu_seconds(pids[key])
            phase = await run_phase(url, name, tokens, pool, limit, seconds)
            phase.cpu = cpu_seconds(pids[key]) - cpu0
            phase.per_cpu_s = phase.n / phase.cpu if phase.cpu > 0 else float("nan")
            out[key][name] = phase
    return out


# ---------------------------------------------------------------- backends
def pg_database() -> tuple[str, str] | None:
    try:
        import psycopg

        name = f"dojo_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        return name, f"{base}/{name}"
    except Exception as exc:  # noqa: BLE001 - report and go on with SQLite alone
        print(f"postgres: unavailable ({exc}); measuring SQLite only")
        return None


def bench_backend(label: str, db_url: str, home: Path, limit: int, seconds: float) -> dict[str, dict[str, Phase]]:
    t0 = time.perf_counter()
    tokens, tasks = seed(db_url)
    print(f"[{label}] seeded {TASKS} tasks and {LABELLERS} labellers in {time.perf_counter() - t0:.1f} s", flush=True)
    port, bare_port = free_port(), free_port()
    server = start_worker_api(home, db_url, port)
    bare = None
    try:
        wait_ok(f"http://127.0.0.1:{port}/health", server)
        base = f"http://127.0.0.1:{port}"
        samples = asyncio.run(capture(base, tokens, tasks[0]))
        samples_path = home / f"samples-{label}.json"
        samples_path.write_text(json.dumps(samples))
        bare = subprocess.Popen(
            [sys.executable, __file__, "--bare", str(bare_port), str(samples_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_ok(f"http://127.0.0.1:{bare_port}/health", bare)
        return asyncio.run(
            measure(
                base,
                f"http://127.0.0.1:{bare_port}",
                tokens,
                tasks,
                limit,
                seconds,
                {"db": server.pid, "bare": bare.pid},
            )
        )
    finally:
        stop(server)
        if bare is not None:
            stop(bare)


def report(label: str, res: dict[str, dict[str, Phase]]) -> None:
    print(f"\n{label}: {LABELLERS} concurrent labellers, {TASKS} tasks")
    print(
        f"{'phase':<8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'req/cpu-s':>10} | {'bare req/s':>10}"
        f"{'p50':>7}{'p99':>7}{'req/cpu-s':>10} | {'rps ratio':>9}{'p50 ratio':>10}{'cpu ratio':>10}"
    )
    for name in ("list", "fetch", "submit"):
        d, b = res["db"][name], res["bare"][name]
        print(
            f"{name:<8}{d.rps:>9.0f}{d.p50:>9.1f}{d.p99:>9.1f}{d.errors:>8}{d.per_cpu_s:>10.0f} | {b.rps:>10.0f}"
            f"{b.p50:>7.1f}{b.p99:>7.1f}{b.per_cpu_s:>10.0f} | {d.rps / b.rps:>9.2f}{d.p50 / b.p50:>10.1f}"
            f"{d.per_cpu_s / b.per_cpu_s:>10.2f}"
        )
        if b.errors:
            print(f"  warning: the bare peer answered {b.errors} {name} requests with an error")


# ---------------------------------------------------------------- in process: CPU per request, no network
async def in_process(db_url: str, home: Path, n: int) -> dict[str, float]:
    """CPU milliseconds per request, one request at a time through ``httpx.ASGITransport`` (no sockets,
    no client process): the server-side cost of each request kind, and of the bare peer's, with little
    of the machine's load in it. On PostgreSQL the database server's CPU is not counted."""
    import httpx

    from dojo.chain.base import Metagraph
    from dojo.config import load_settings
    from dojo.worker_api.app import create_app

    tokens, tasks = seed(db_url)
    settings = load_settings(
        home=home,
        profile="prod",
        worker__db_url=db_url,
        worker__jwt_secret=SECRET,
        worker__rate_limit_ip="100000000/minute",
        worker__rate_limit_labeller="100000000/minute",
    )
    app = create_app(settings, metagraph=lambda: Metagraph(netuid=1, block=1, neurons=()))
    samples = home / "samples-inprocess.json"
    samples.write_text(json.dumps({"list": {"success": True}, "fetch": {"success": True}, "submit": {"success": True}}))
    rng, out, cursor = random.Random(3), {}, iter(tasks)

    async def one(c: httpx.AsyncClient, kind: str) -> None:
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        if kind == "list":
            r = await c.get(f"/api/v1/tasks?status=open&limit=20&page={rng.randint(1, 50)}", headers=headers)
        elif kind == "fetch":
            r = await c.get(f"/api/v1/tasks/{tasks[rng.randrange(TASKS)]['id']}", headers=headers)
        else:
            task = next(cursor)
            r = await c.put(
                f"/api/v1/tasks/{task['id']}/result",
                headers=headers,
                json={"scores": {x["completion_id"]: 5 for x in task["responses"]}},
            )
        assert r.status_code == 200, r.text

    async def timed(c: httpx.AsyncClient, label: str, kind: str) -> None:
        for _ in range(30):
            await one(c, kind)
        start = time.process_time()
        for _ in range(n):
            await one(c, kind)
        out[label] = (time.process_time() - start) / n * 1000

    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            for kind in ("list", "fetch", "submit"):
                await timed(c, kind, kind)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare_app(str(samples))), base_url="http://t") as c:
        await timed(c, "bare GET", "fetch")
        await timed(c, "bare PUT", "submit")
    return out


def main_in_process(n: int) -> None:
    """Print CPU ms per request in process on SQLite and PostgreSQL (when reachable)."""
    rows = {}
    with tempfile.TemporaryDirectory(prefix="dojo-bench-wa-") as tmp:
        home = Path(tmp)
        rows["SQLite"] = asyncio.run(in_process(f"sqlite:///{home / 'worker.db'}", home, n))
        pg = pg_database()
        if pg is not None:
            try:
                rows["PostgreSQL"] = asyncio.run(in_process(pg[1], home, n))
            finally:
                drop_pg(pg[0])
    print(f"\nin process, {n} sequential requests each: server CPU ms per request (and requests per CPU-second)")
    for label, figures in rows.items():
        print(f"{label:<11}" + "  ".join(f"{k} {v:.2f} ({1000 / v:.0f}/s)" for k, v in figures.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller phases (a smoke run)")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="CPU per request through ASGITransport, one at a time (steadier on a busy machine)",
    )
    parser.add_argument("--bare", nargs=2, metavar=("PORT", "SAMPLES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        run_bare(int(args.bare[0]), args.bare[1])
        return
    if args.in_process:
        main_in_process(100 if args.quick else 500)
        return
    limit, seconds = (500, 2.0) if args.quick else (PHASE_REQUESTS, PHASE_SECONDS)
    load_before = os.getloadavg()[0]
    results = {}
    with tempfile.TemporaryDirectory(prefix="dojo-bench-wa-") as tmp:
        home = Path(tmp)
        (home / "sqlite").mkdir()
        results["SQLite"] = bench_backend(
            "SQLite", f"sqlite:///{home / 'sqlite' / 'worker.db'}", home / "sqlite", limit, seconds
        )
        pg = pg_database()
        if pg is not None:
            (home / "pg").mkdir()
            try:
                results["PostgreSQL"] = bench_backend("PostgreSQL", pg[1], home / "pg", limit, seconds)
            finally:
                drop_pg(pg[0])
    for label, res in results.items():
        report(label, res)
    print("\nratio = worker API / bare FastAPI endpoint returning the same JSON, same client, same run")
    print(
        "req/cpu-s = requests per CPU-second of the server process (steady under machine load; on PostgreSQL the"
        " database server's own CPU is not counted)"
    )
    print(f"machine: {os.cpu_count()} cores, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
