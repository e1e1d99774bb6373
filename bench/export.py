"""Bench: dataset export streamed from a big store (bulk submit of external tasks: ``bench/bulk_submit.py``).

* **export** — a SQLite validator store with R result rows (tasks of 4 completions × 3 labellers,
  12 result rows per task) is exported as Parquet. Prints result rows/s and the export process's
  peak RSS, at two sizes; memory is flat when the larger store costs (almost) no more memory
  (the ratio is printed; the goal is ≥ 100k rows/s and a ratio ≈ 1).

Each measurement runs in a fresh subprocess so peak RSS belongs to it alone (the store an export
reads is filled by another subprocess first).

    python bench/export.py                  # bounded: 200k/50k rows
    python bench/export.py --rows 1000000   # the full size
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


def child_fill(rows: int, work: Path) -> dict:
    t = time.perf_counter()
    n_tasks = fill(f"sqlite:///{work / f'v{rows}.db'}", rows)
    return {"tasks": n_tasks, "fill_s": time.perf_counter() - t}


def child_export(rows: int, work: Path) -> dict:
    """The export alone in this process (the store was filled by another), so its peak RSS is the export's."""
    from dojo.dataset import export_dataset

    url = f"sqlite:///{work / f'v{rows}.db'}"
    base = peak_rss_mib()
    t, cpu = time.perf_counter(), time.process_time()
    summary = export_dataset(url, work / f"out{rows}", fmt="parquet", batch_size=512)
    secs, cpu = time.perf_counter() - t, time.process_time() - cpu
    n_rows = -(-rows // PER_TASK) * PER_TASK
    return {
        "rows": n_rows,
        "tasks": summary.tasks,
        "pairs": summary.pairs,
        "secs": secs,
        "cpu_s": cpu,
        "rows_per_s": n_rows / secs,
        "rows_per_cpu_s": n_rows / cpu,  # the machine may be shared: CPU time is the steadier figure
        "peak_mib": peak_rss_mib(),
        "rss_before_mib": base,
    }


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
    ap.add_argument("--child", choices=["fill", "export"], help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        fn = {"fill": child_fill, "export": child_export}[args.child]
        print(json.dumps(fn(args.size, args.work)))
        return
    with tempfile.TemporaryDirectory(prefix="dojo-bench-export-") as tmp:
        work = Path(tmp)
        sizes = (args.rows // 4, args.rows)
        for size in sizes:
            run_child("fill", size, work)
        small, big = (run_child("export", s, work) for s in sizes)
        print("export (Parquet, 4 completions × 3 labellers per task; each export alone in a fresh process)")
        print(
            f"{'result rows':>12} {'tasks':>8} {'pairs':>8} {'secs':>7} {'CPU-s':>7} {'rows/s':>9} {'rows/CPU-s':>11} "
            f"{'RSS at start':>13} {'peak RSS MiB':>13}"
        )
        for r in (small, big):
            print(
                f"{r['rows']:>12,} {r['tasks']:>8,} {r['pairs']:>8,} {r['secs']:>7.1f} {r['cpu_s']:>7.1f} "
                f"{r['rows_per_s']:>9,.0f} {r['rows_per_cpu_s']:>11,.0f} {r['rss_before_mib']:>13.0f} "
                f"{r['peak_mib']:>13.0f}"
            )
        print(
            f"  rows ×{big['rows'] / small['rows']:.1f} → peak memory ×{big['peak_mib'] / small['peak_mib']:.2f} "
            f"(flat ≈ 1); {big['rows_per_cpu_s'] / 1e5:.2f}× the 100k rows/s goal per CPU-second"
        )


if __name__ == "__main__":
    main()
