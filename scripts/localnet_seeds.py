"""Run the real local network over several seeds and count how often the weights rank the crews right.

    .venv/bin/python scripts/localnet_seeds.py --seeds 10

Each run is a whole `dojo localnet` (real processes, about a minute each). The test suite checks
the same property in process over 10 seeds (tests/localnet/test_skills.py); this is the slow,
real-process version for a person to run.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

from rich.console import Console

from dojo.localnet.network import LocalnetConfig, ranking_problems
from dojo.localnet.run import run_localnet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args()
    correct = 0
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="dojo-seeds-") as home:
            result = run_localnet(
                LocalnetConfig(seed=seed, home=Path(home) / "net", timeout_s=300),
                Console(file=io.StringIO(), width=120),
            )
        weights = " ".join(f"{r.name}={r.weight:.3f}" for r in result.miners)
        ok = result.ranked_as_expected and not result.failures
        correct += ok
        print(
            f"seed {seed}: {'ranked right' if ok else 'NOT ranked right'}  {weights}  "
            f"({time.monotonic() - started:.0f}s)",
            flush=True,
        )
        for problem in ranking_problems(result.miners):
            print(f"    {problem}", flush=True)
    print(f"{correct}/{args.seeds} seeds ranked the crews by quality")


if __name__ == "__main__":
    main()
