"""Bench: bulk submit of external tasks — one by one, then batched — against a real external-task API process.

A data consumer's file of N tasks (JSON lines: an id of their own, a prompt, 4 HTML responses) goes
to the validator's external-task API, served by its own process on a loopback port with a fresh
store (SQLite, the validator's default; ``--db postgres`` for the local PostgreSQL):

* **one by one** — ``DojoClient.submit`` per row: one request and one transaction per task (what a
  consumer looping over ``POST /api/v1/external-tasks`` gets);
* **batched** — ``DojoClient.submit_many`` (what ``dojo external submit`` runs): ``POST …/batch`` of
  up to 500 tasks, each checked on its own, stored in one transaction per batch; then the same file
  again (a re-run: every row is already known by its id, nothing is written twice).

Both in the same run, each with a fresh server process and a fresh client process, so that each
peak RSS (``VmHWM`` of the server, ``ru_maxrss`` of the client) belongs to that mode alone. Printed:
tasks/s, peak memory, and the batched/one-by-one speed ratio.

    python bench/bulk_submit.py                   # 10,000 tasks, SQLite
    python bench/bulk_submit.py --tasks 2000 --db postgres
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from _servers import PG_ADMIN, drop_pg, free_port, stop, wait_ok  # bench/ is on sys.path when a bench runs

TOKEN = "bench-token"
COMPLETIONS = 4
CONTENT = "<html><body><canvas id=c></canvas><script>/* {i}-{k} */ let x = {k};</script></body></html>"


def write_tasks(path: Path, n: int) -> None:
    """A consumer's file: ``n`` rows of an id, a prompt and 4 responses (plain strings, ids made by the client)."""
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            row = {
                "id": f"c{i}",
                "prompt": f"make thing {i}",
                "responses": [CONTENT.format(i=i, k=k) for k in range(4)],
            }
            fh.write(json.dumps(row) + "\n")


# ---------------------------------------------------------------- the server (its own process)
def serve(port: int, db_url: str) -> None:
    """The validator's external-task API on 127.0.0.1:``port`` over a store at ``db_url``, until SIGTERM."""
    from dojo import serving
    from dojo.config import load_settings
    from dojo.validator.external import create_external_app
    from dojo.validator.store.repo import ValidatorStore

    store = ValidatorStore(db_url)
    app = create_external_app(load_settings(validator__external_api_token=TOKEN), store)
    serving.run(serving.build_config(app, "127.0.0.1", port, lifespan="off"), service="external-task API")
    store.dispose()


def peak_rss_mib_of(pid: int) -> float:
    """A live process's peak resident set (``VmHWM``), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- the client (its own process)
def client(mode: str, url: str, src: Path) -> dict[str, float]:
    from dojo.client import DojoClient, read_rows

    out: dict[str, float] = {}
    with DojoClient(url, token=TOKEN) as c:
        t = time.perf_counter()
        if mode == "one":
            created = sum(c.submit(row).created for _, row in read_rows(src))
        else:
            report = c.submit_many(read_rows(src))
            assert not report.errors, report.errors[:3]
            created = report.created
        out["secs"] = time.perf_counter() - t
        out["created"] = created
        if mode == "batch":
            t = time.perf_counter()
            again = c.submit_many(read_rows(src))
            out["rerun_secs"] = time.perf_counter() - t
            out["rerun_existing"] = again.existing
        out["total"] = c.summary()["total"]
    out["client_peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


# ---------------------------------------------------------------- the driver
def scratch_db(kind: str, work: Path, name: str) -> tuple[str, str | None]:
    """A fresh store URL, and the PostgreSQL database to drop afterwards."""
    if kind == "sqlite":
        return f"sqlite:///{work / f'{name}.db'}", None
    import psycopg

    db = f"dojo_bench_bulk_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db}"')
    return PG_ADMIN.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/{db}", db


def measure(mode: str, n: int, src: Path, work: Path, db_kind: str) -> dict[str, float]:
    url, pg = scratch_db(db_kind, work, mode)
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port), "--db-url", url])
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ok(base + "/health", server)
        run = subprocess.run(
            [sys.executable, __file__, "--client", mode, "--url", base, "--src", str(src)],
            capture_output=True,
            text=True,
            check=False,
        )
        if run.returncode != 0:
            raise SystemExit(f"the {mode} client failed:\n{run.stderr[-3000:]}")
        result = dict(json.loads(run.stdout.strip().splitlines()[-1]))
        result["server_peak_mib"] = peak_rss_mib_of(server.pid)
    finally:
        stop(server)
        if pg:
            drop_pg(pg)
    assert result["created"] == n and result["total"] == n, result
    if mode == "batch":
        assert result["rerun_existing"] == n, result
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=10_000, help="tasks in the file (default 10,000)")
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite", help="the store behind the API")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--db-url", help=argparse.SUPPRESS)
    ap.add_argument("--client", choices=["one", "batch"], help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--src", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.db_url)
        return
    if args.client:
        print(json.dumps(client(args.client, args.url, args.src)))
        return
    n = args.tasks
    with tempfile.TemporaryDirectory(prefix="dojo-bench-bulk-") as tmp:
        work = Path(tmp)
        src = work / "tasks.jsonl"
        write_tasks(src, n)
        one = measure("one", n, src, work, args.db)
        batch = measure("batch", n, src, work, args.db)
    print(
        f"bulk submit: {n:,} external tasks ({COMPLETIONS} responses each) → external-task API process on "
        f"127.0.0.1, {args.db} store"
    )
    print(f"{'mode':<34} {'secs':>7} {'tasks/s':>9} {'server peak MiB':>16} {'client peak MiB':>16}")
    rows = [
        ("one by one (1 request, 1 txn each)", one["secs"], one),
        ("batched (≤500 per request + txn)", batch["secs"], batch),
        ("batched re-run (all already known)", batch["rerun_secs"], batch),
    ]
    for label, secs, r in rows:
        print(f"{label:<34} {secs:>7.1f} {n / secs:>9,.0f} {r['server_peak_mib']:>16.0f} {r['client_peak_mib']:>16.0f}")
    print(f"  batched / one by one: ×{one['secs'] / batch['secs']:.1f} tasks/s")


if __name__ == "__main__":
    main()
