"""Bench: dataset export streamed from a big store, and bulk submit of external tasks.

* **export** — a SQLite validator store with R result rows (tasks of 4 completions × 3 labellers,
  12 result rows per task) is exported as Parquet. Prints result rows/s and the export process's
  peak RSS, at two sizes; memory is flat when the larger store costs (almost) no more memory
  (the ratio is printed; the goal is ≥ 100k rows/s and a ratio ≈ 1).
* **submit** — N external tasks from a JSONL file, through ``dojo.client.DojoClient.submit_many``
  against the real external-task API on a loopback port (server and client in one process).
  Prints tasks/s and peak RSS, at two sizes.

Each measurement runs in a fresh subprocess so peak RSS belongs to it alone.

    python bench/export.py                                  # bounded: 200k/50k rows, 2,500/625 tasks
    python bench/export.py --rows 1000000 --tasks 10000     # the full sizes
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

COMPLETIONS, LABELLERS = 4, 3
PER_TASK = COMPLETIONS * LABELLERS
CONTENT = "<html><body><canvas id=c></canvas><script>/* {i}-{k} */ let x = {k};</script></body></html>"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(url: str, rows: int) -> int:
    """A scored store with ``rows`` result rows; returns the number of tasks."""
    import sqlalchemy as sa

    from dojo.validator.store.models import Assignment, Result, Round, Task
    from dojo.validator.store.repo import ValidatorStore

    store = ValidatorStore(url)
    n_tasks = -(-rows // PER_TASK)
    t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with store.engine.begin() as conn:
        conn.execute(sa.insert(Round), [{"id": 1, "state": "scored", "created_at": t0}])
        chunk = 5000
        for start in range(0, n_tasks, chunk):
            tasks, assigns, results = [], [], []
            for i in range(start, min(start + chunk, n_tasks)):
                tid = str(uuid.UUID(int=i + 1))
                cids = [str(uuid.UUID(int=(i + 1) * 16 + k)) for k in range(COMPLETIONS)]
                tasks.append(
                    {
                        "id": tid,
                        "round_id": 1,
                        "position": i,
                        "source": "synthetic",
                        "state": "scored",
                        "prompt": f"make thing {i}",
                        "criteria": {"type": "score", "min": 1, "max": 10},
                        "responses": [
                            {"completion_id": c, "content": CONTENT.format(i=i, k=k), "model": f"m{k}"}
                            for k, c in enumerate(cids)
                        ],
                        "ground_truth": {c: k for k, c in enumerate(cids)},
                        "created_at": t0 + timedelta(seconds=i),
                    }
                )
                aid = i + 1
                assigns.append(
                    {
                        "id": aid,
                        "task_id": tid,
                        "uid": 1,
                        "hotkey": "5Fminer",
                        "address": "http://x",
                        "miner_task_id": str(uuid.UUID(int=10**12 + i)),
                        "completion_map": {c: c for c in cids},
                        "payload": {},
                        "expire_at": t0,
                        "state": "collected",
                        "feedback_attempts": 0,
                        "updated_at": t0,
                    }
                )
                for lab in range(LABELLERS):
                    for k, c in enumerate(cids):
                        value = max(1, min(10, 10 - 3 * k + (lab + i) % 3 - 1))
                        results.append(
                            {
                                "assignment_id": aid,
                                "labeller_id": f"0xlab{lab}",
                                "completion_id": c,
                                "value": float(value),
                                "submitted_at": t0,
                            }
                        )
            conn.execute(sa.insert(Task), tasks)
            conn.execute(sa.insert(Assignment), assigns)
            conn.execute(sa.insert(Result), results)
    store.dispose()
    return n_tasks


def child_export(rows: int, work: Path) -> dict:
    from dojo.dataset import export_dataset

    url = f"sqlite:///{work / f'v{rows}.db'}"
    t = time.perf_counter()
    n_tasks = fill(url, rows)
    fill_s = time.perf_counter() - t
    base = peak_rss_mib()
    t, cpu = time.perf_counter(), time.process_time()
    summary = export_dataset(url, work / f"out{rows}", fmt="parquet", batch_size=512)
    secs, cpu = time.perf_counter() - t, time.process_time() - cpu
    return {
        "rows": n_tasks * PER_TASK,
        "tasks": summary.tasks,
        "pairs": summary.pairs,
        "secs": secs,
        "fill_s": fill_s,
        "rows_per_s": n_tasks * PER_TASK / secs,
        "rows_per_cpu_s": n_tasks * PER_TASK / cpu,  # the machine may be shared: CPU time is the steadier figure
        "peak_mib": peak_rss_mib(),
        "rss_before_mib": base,
    }


def child_submit(n: int, work: Path) -> dict:
    import uvicorn

    from dojo.client import DojoClient, read_rows
    from dojo.config import load_settings
    from dojo.localnet.processes import free_port
    from dojo.validator.external import create_external_app
    from dojo.validator.store.repo import ValidatorStore

    src = work / f"in{n}.jsonl"
    with open(src, "w") as fh:
        for i in range(n):
            responses = [CONTENT.format(i=i, k=k) for k in range(COMPLETIONS)]
            fh.write(json.dumps({"id": f"c{i}", "prompt": f"make thing {i}", "responses": responses}) + "\n")
    store = ValidatorStore(f"sqlite:///{work / f's{n}.db'}")
    app = create_external_app(load_settings(validator__external_api_token="t"), store)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    while not server.started:
        time.sleep(0.02)
    with DojoClient(f"http://127.0.0.1:{port}", token="t") as client:
        t = time.perf_counter()
        report = client.submit_many(read_rows(src))
        secs = time.perf_counter() - t
        t = time.perf_counter()
        again = client.submit_many(read_rows(src))
        rerun_s = time.perf_counter() - t
    server.should_exit = True
    th.join(10)
    assert report.created == n and again.existing == n and not report.errors, (report, again)
    return {"tasks": n, "secs": secs, "tasks_per_s": n / secs, "rerun_per_s": n / rerun_s, "peak_mib": peak_rss_mib()}


def run_child(kind: str, size: int, work: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--size", str(size), "--work", str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{kind} {size} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000, help="result rows of the larger export (full: 1000000)")
    ap.add_argument("--tasks", type=int, default=2_500, help="external tasks of the larger submit (full: 10000)")
    ap.add_argument("--only", choices=["export", "submit"], default=None)
    ap.add_argument("--child", choices=["export", "submit"], help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = child_export if args.child == "export" else child_submit
        print(json.dumps(fn(args.size, args.work)))
        return
    with tempfile.TemporaryDirectory(prefix="dojo-bench-export-") as tmp:
        work = Path(tmp)
        if args.only in (None, "export"):
            small, big = (run_child("export", s, work) for s in (args.rows // 4, args.rows))
            print("export (Parquet, 4 completions × 3 labellers per task, fresh process per size)")
            print(
                f"{'result rows':>12} {'tasks':>8} {'pairs':>8} {'secs':>7} {'rows/s':>9} {'rows/CPU-s':>11} "
                f"{'peak RSS MiB':>13}"
            )
            for r in (small, big):
                print(
                    f"{r['rows']:>12,} {r['tasks']:>8,} {r['pairs']:>8,} {r['secs']:>7.1f} "
                    f"{r['rows_per_s']:>9,.0f} {r['rows_per_cpu_s']:>11,.0f} {r['peak_mib']:>13.0f}"
                )
            print(
                f"  rows ×{big['rows'] / small['rows']:.1f} → peak memory ×{big['peak_mib'] / small['peak_mib']:.2f} "
                f"(flat ≈ 1); {big['rows_per_cpu_s'] / 1e5:.2f}× the 100k rows/s goal per CPU-second"
            )
        if args.only in (None, "submit"):
            small, big = (run_child("submit", s, work) for s in (args.tasks // 4, args.tasks))
            print("bulk submit (JSONL → DojoClient.submit_many → external API on loopback, SQLite store)")
            print(f"{'tasks':>8} {'secs':>7} {'tasks/s':>9} {'re-run tasks/s':>15} {'peak RSS MiB':>13}")
            for r in (small, big):
                print(
                    f"{r['tasks']:>8,} {r['secs']:>7.1f} {r['tasks_per_s']:>9,.0f} {r['rerun_per_s']:>15,.0f} "
                    f"{r['peak_mib']:>13.0f}"
                )
            print(
                f"  tasks ×{big['tasks'] / small['tasks']:.1f} → peak memory ×{big['peak_mib'] / small['peak_mib']:.2f}"
            )


if __name__ == "__main__":
    main()
