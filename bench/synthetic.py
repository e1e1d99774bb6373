"""Synthetic-task benchmark: procedural generation with validation, obfuscation, complete tasks.

Each figure is also given as a ratio against plain copying of the same bytes in the same run
(``bytes(bytearray(b))`` over every document), so machines of different speed compare.

* procedural tasks/s (4 answers, every document validated: HTML, V8 syntax check, no remote loads);
* obfuscation throughput, documents/s and MB/s (``dojo.obfuscation.obfuscate_html``, when present);
* complete tasks/s: generate + validate + obfuscate one miner copy (4 documents). Aim: >= 50 per
  CPU-second of this process (V8's threads included).

    python bench/synthetic.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Callable

from dojo.synthetic.procedural import generate_task
from dojo.synthetic.validation import documents_errors

AIM_COMPLETE_TASKS_PER_S = 50.0


def _validate(docs: list[str]) -> None:
    errors = [e for e in documents_errors(docs) if e]
    if errors:
        raise SystemExit(f"invalid document: {errors[0]}")


CPU_RATES: dict[int, float] = {}


def _timed(fn: Callable[[int], int], seconds: float, max_items: int) -> tuple[int, float, int]:
    """Call ``fn(i)`` for i = 0, 1, … until ``seconds`` or ``max_items``; returns (items, elapsed, bytes).

    Also records items per CPU-second of this process (all threads, V8's included) in ``CPU_RATES``,
    which says more than wall time on a machine shared with other work.
    """
    start, cpu = time.perf_counter(), time.process_time()
    n = size = 0
    while n < max_items and time.perf_counter() - start < seconds:
        size += fn(n)
        n += 1
    CPU_RATES[id(fn)] = n / max(1e-9, time.process_time() - cpu)
    return n, time.perf_counter() - start, size


def _copy_seconds(blobs: list[bytes], repeat: int = 5) -> float:
    """Best time to copy every blob once."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for b in blobs:
            bytes(bytearray(b))
        best = min(best, time.perf_counter() - t)
    return max(best, 1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time budget per measurement (default 3)")
    args = ap.parse_args()
    seed0 = 1_000_000

    def gen_validate(i: int) -> int:
        task = generate_task(seed0 + i)
        _validate([r.content for r in task.responses])
        return sum(len(r.content) for r in task.responses)

    gen_validate(0)  # warm up V8
    n, dt, size = _timed(gen_validate, args.seconds, 5000)
    docs = [r.content for i in range(min(n, 400)) for r in generate_task(seed0 + i).responses]
    blobs = [d.encode() for d in docs]
    copy_per_byte = _copy_seconds(blobs) / sum(len(b) for b in blobs)
    rows = [("procedural tasks/s (validated)", n / dt, dt / (size * copy_per_byte), CPU_RATES[id(gen_validate)])]

    try:
        obfuscate = importlib.import_module("dojo.obfuscation").obfuscate_html
    except (ImportError, AttributeError):
        obfuscate = None
    if obfuscate is not None:
        obfuscate(docs[0], 1)  # warm up

        def obf(i: int) -> int:
            d = docs[i % len(docs)]
            obfuscate(d, i)
            return len(d.encode())

        on, odt, osize = _timed(obf, args.seconds, 20000)
        rows.append(("obfuscation documents/s", on / odt, odt / (osize * copy_per_byte), CPU_RATES[id(obf)]))
        rows.append(
            (
                "obfuscation MB/s",
                osize / odt / 1e6,
                odt / (osize * copy_per_byte),
                CPU_RATES[id(obf)] * osize / on / 1e6,
            )
        )

        def complete(i: int) -> int:
            task = generate_task(seed0 + 50_000 + i)
            _validate([r.content for r in task.responses])
            for r in task.responses:
                obfuscate(r.content, i)
            return sum(len(r.content) for r in task.responses)

        cn, cdt, csize = _timed(complete, args.seconds, 5000)
        rows.append(
            (
                "complete 4-answer tasks/s (+ obfuscation)",
                cn / cdt,
                cdt / (csize * copy_per_byte),
                CPU_RATES[id(complete)],
            )
        )
    print(f"{'measure':44} {'wall rate':>10} {'per CPU-s':>10} {'x copy time':>12}")
    for name, value, ratio, cpu_rate in rows:
        print(f"{name:44} {value:10.1f} {cpu_rate:10.1f} {ratio:12.0f}")
    print(
        f"documents: {len(docs)} sampled, mean {sum(map(len, blobs)) / len(blobs) / 1024:.1f} KiB; "
        f"copy: {1 / copy_per_byte / 1e9:.2f} GB/s"
    )
    if obfuscate is None:
        print("obfuscation: dojo.obfuscation.obfuscate_html not available; skipped")
    else:
        # the figure is per CPU-second (issue 11): wall time on a shared machine says more about the neighbours
        ok = rows[-1][3] >= AIM_COMPLETE_TASKS_PER_S
        print(f"aim >= {AIM_COMPLETE_TASKS_PER_S:.0f} complete tasks per CPU-second: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
