"""Scale bench (b): one validator round at 256 miners, over signed HTTP, against a fleet of fake miners.

A local chain (``dojo.chain.local``) holds the validator (staked: it has a permit) and ``--miners``
registered miner hotkeys, each with a published loopback address. The miners are a fleet in ONE
other process (``bench/_fleet.py``: one uvicorn server, one port per miner; every request passes the
real ``ValidatorGate``: btauth/1 signature, receiver, replay, allow-list by the chain's metagraph).
This process runs the real validator engine (``dojo.validator.engine``: planner, copies, collect,
scorer, weights) with the real ``SignedClient``/``SignedGateway``, a SQLite store, procedural tasks
and the real obfuscation, and steps through one round:

    heartbeat · generation · copies · store · dispatch · collect · scoring · feedback · weights

Per stage it prints wall time, the CPU-seconds of this process tree (the validator and its
planning processes), the wall time spent in the store's methods, the fleet's CPU-seconds, and the
peak RSS of the validator's process tree (this process and its planning processes, sampled every
20 ms; the fleet's is printed apart). For the calls to miners it also prints the fan-out alone (the
gateway call, without the store's reads and writes around it) and, below the table, how many
connections the client opened per fan-out (the other calls went over a kept-alive one). Then the
figures against the issue's goals: preparation (generation + copies) ≤ 30 s wall and ≤ 1.5 GiB peak
RSS at 256 miners × 4 tasks, dispatch fan-out ≤ 1 s.

The planning processes are started (and their V8 contexts loaded) before the round, as the validator
service starts them after the heartbeat that finds enough miners; that start is printed on its own.
Every stage has a deadline (``--stage-timeout``), so the bench ends even when something hangs.

    python bench/_scale_round.py                      # 256 miners x 4 tasks
    python bench/_scale_round.py --miners 32 --tasks-per-miner 2   # quick
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GIB = 1024**3
GOALS = {"prepare_s": 30.0, "prepare_rss": 1.5 * GIB, "dispatch_fanout_s": 1.0}


# ---------------------------------------------------------------- process-tree measures
def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            out += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    except OSError:
        pass
    return out


def tree(pid: int, skip: frozenset[int] = frozenset()) -> list[int]:
    """``pid`` and its descendants, without the subtrees of ``skip``."""
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        if p in skip:
            continue
        seen.append(p)
        todo += _children(p)
    return seen


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of live processes ``pids`` (from /proc: includes every thread, V8's too)."""
    ticks = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


class Sampler:
    """Samples the validator tree's RSS every 25 ms (its process list every second); ``peak`` since ``reset``."""

    def __init__(self, skip: frozenset[int]) -> None:
        self.skip = skip
        self.peak = 0
        self._pids = tree(os.getpid(), skip)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        listed = time.monotonic()
        while not self._stop.wait(0.025):
            if time.monotonic() - listed > 1.0:
                self._pids, listed = tree(os.getpid(), self.skip), time.monotonic()
            self.peak = max(self.peak, rss_bytes(self._pids))

    def reset(self) -> None:
        self._pids = tree(os.getpid(), self.skip)
        self.peak = rss_bytes(self._pids)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Stage:
    name: str
    wall: float = 0.0
    cpu: float = 0.0
    fleet_cpu: float = 0.0
    peak_rss: int = 0
    fanout: float | None = None  # the gateway call alone: wall, validator CPU-s, fleet CPU-s
    fanout_cpu: float = 0.0
    fanout_fleet_cpu: float = 0.0
    load: float = 0.0  # the machine's 1-minute load average at the stage's end (other work on its CPUs)
    store: float = 0.0  # wall time spent in the store's methods (reads and writes, in threads)


@dataclass
class Meter:
    """Time, CPU and peak RSS of named stages of the validator; the fleet's CPU alongside."""

    sampler: Sampler
    fleet_pid: int
    stages: list[Stage] = field(default_factory=list)
    fanouts: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    store_s: float = 0.0  # running total of time spent in store methods (see ``time_store``)

    def own_cpu(self) -> float:
        return cpu_seconds(tree(os.getpid(), frozenset({self.fleet_pid})))

    @contextmanager
    def stage(self, name: str) -> Iterator[Stage]:
        st = Stage(name)
        cpu0, fleet0, store0 = self.own_cpu(), cpu_seconds([self.fleet_pid]), self.store_s
        self.sampler.reset()
        t0 = time.perf_counter()
        try:
            yield st
        finally:
            st.wall = time.perf_counter() - t0
            st.cpu = self.own_cpu() - cpu0
            st.load = os.getloadavg()[0]
            st.store = self.store_s - store0
            st.fleet_cpu = cpu_seconds([self.fleet_pid]) - fleet0
            st.peak_rss = max(self.sampler.peak, rss_bytes(tree(os.getpid(), frozenset({self.fleet_pid}))))
            self.stages.append(st)

    def get(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


class TimedGateway:
    """The real gateway, with the wall time and CPU of each fan-out (one call to all miners) written down,
    and the connections the client opened for it (the others reused a kept-alive one)."""

    def __init__(self, inner: Any, meter: Meter, connections: Any) -> None:
        self.inner, self.meter, self.connections = inner, meter, connections
        self.opened: dict[str, int] = {}

    async def _timed(self, name: str, call: Awaitable[Any]) -> Any:
        cpu0, fleet0 = self.meter.own_cpu(), cpu_seconds([self.meter.fleet_pid])
        opened0 = self.connections.opened
        t0 = time.perf_counter()
        try:
            return await call
        finally:
            wall = time.perf_counter() - t0
            cpu, fleet = self.meter.own_cpu() - cpu0, cpu_seconds([self.meter.fleet_pid]) - fleet0
            w, c, f = self.meter.fanouts.get(name, (0.0, 0.0, 0.0))
            self.meter.fanouts[name] = (w + wall, c + cpu, f + fleet)
            self.opened[name] = self.opened.get(name, 0) + self.connections.opened - opened0

    async def heartbeat(self, miners: Any) -> Any:
        return await self._timed("heartbeat", self.inner.heartbeat(miners))

    async def send_tasks(self, jobs: Any) -> Any:
        return await self._timed("dispatch", self.inner.send_tasks(jobs))

    async def fetch_results(self, jobs: Any) -> Any:
        return await self._timed("collect", self.inner.fetch_results(jobs))

    async def send_feedback(self, jobs: Any) -> Any:
        return await self._timed("feedback", self.inner.send_feedback(jobs))


class WarningTally(logging.Handler):
    """Counts the validator's warnings by event and reason (a failed call to a miner is one), printed at the end."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", {}) or {}
        reason = str(fields.get("reason") or fields.get("error") or "")[:90]
        self.counts[f"{record.getMessage()} ({reason})" if reason else record.getMessage()] += 1


#: the store methods the engine calls, timed into each stage's "store s" column
STORE_METHODS = (
    "next_round_id known_tasks external_load create_round planned refresh_expiry record_dispatch due_for_collect "
    "record_collect round_to_score record_scores feedback_jobs record_feedback last_weights_block running_states "
    "record_weights"
).split()


def time_store(store: Any, meter: Meter) -> None:
    """Wrap the store's methods (on the instance) so the time the engine spends in them is added up."""

    def timed(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                meter.store_s += time.perf_counter() - t0

        return call

    for name in STORE_METHODS:
        if hasattr(store, name):
            setattr(store, name, timed(getattr(store, name)))


@contextmanager
def profiled(on: bool) -> Iterator[None]:
    """cProfile of the event loop's thread during a stage (``--profile STAGE``): the top 40 by cumulative time."""
    if not on:
        yield
        return
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


# ---------------------------------------------------------------- set-up
def make_chain(tmp: Path, miners: int) -> tuple[Any, Any, list[str]]:
    """A local chain with a staked validator and ``miners`` registered hotkeys; (chain, wallet, hotkeys)."""
    from bittensor.keyfiles import Keypair

    from dojo.chain.local import ChainParams, LocalChain
    from dojo.chain.wallets import create_wallet

    chain = LocalChain(tmp / "chain.db", ChainParams(max_uids=miners + 1, weights_rate_limit=0))
    wallet = create_wallet("validator", "hot", tmp / "wallets")
    owner = Keypair.create_from_uri("//dojo-scale-owner").ss58_address
    chain.register(wallet.hotkey.ss58_address, wallet.coldkeypub.ss58_address)
    chain.add_stake(wallet.hotkey.ss58_address, 10 * chain.params.min_validator_stake)
    hotkeys = [Keypair.create_from_uri(f"//dojo-scale-miner-{i}").ss58_address for i in range(miners)]
    for hk in hotkeys:
        chain.register(hk, owner)
    return chain, wallet, hotkeys


def start_fleet(tmp: Path, chain: Any, hotkeys: list[str], labellers: int) -> tuple[subprocess.Popen[str], int]:
    """The fleet process, its miners' addresses published on the chain; (process, miners listening)."""
    (tmp / "hotkeys.json").write_text(json.dumps(hotkeys))
    cmd = [sys.executable, str(HERE / "_fleet.py"), "--chain", str(chain.path), "--hotkeys", str(tmp / "hotkeys.json")]
    cmd += ["--labellers", str(labellers), "--min-stake", str(chain.params.min_validator_stake)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"the fleet exited before listening (code {proc.wait(10)})")
    ports = json.loads(line)["ports"]
    for hk, port in zip(hotkeys, ports, strict=True):
        chain.publish_address(hk, "127.0.0.1", port)
    return proc, len(ports)


def stop_fleet(proc: subprocess.Popen[str]) -> None:
    if proc.stdin:
        proc.stdin.close()  # the fleet exits when its stdin closes
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


# ---------------------------------------------------------------- the round
async def run_round(args: argparse.Namespace, tmp: Path) -> tuple[Meter, dict[str, Any]]:
    from dojo.config import Settings
    from dojo.transport.client import SignedClient
    from dojo.validator import planner, procpool
    from dojo.validator.copies import default_obfuscator
    from dojo.validator.engine import Engine, EngineConfig
    from dojo.validator.gateway import SignedGateway
    from dojo.validator.sources import ProceduralSource
    from dojo.validator.store.repo import ValidatorStore

    info: dict[str, Any] = {}
    tally = WarningTally()
    logging.getLogger().addHandler(tally)  # instead of printing each (and as the only handler: no stderr spam)
    info["warnings"] = tally.counts
    t0 = time.perf_counter()
    chain, wallet, hotkeys = make_chain(tmp, args.miners)
    fleet, n_ports = start_fleet(tmp, chain, hotkeys, args.labellers_per_copy)
    info["setup_s"] = time.perf_counter() - t0
    try:
        with Sampler(frozenset({fleet.pid})) as sampler:
            meter = Meter(sampler, fleet.pid)
            with meter.stage("planning processes start"):
                info["processes"] = procpool.warm(args.plan_processes)
            offset = timedelta(0)

            def clock() -> datetime:
                return datetime.now(timezone.utc) + offset

            store = ValidatorStore(f"sqlite:///{tmp / 'validator.db'}")
            time_store(store, meter)
            settings = Settings()
            async with SignedClient(
                wallet.hotkey, timeout=args.request_timeout, max_concurrency=settings.transport.max_concurrency
            ) as client:
                gateway = TimedGateway(SignedGateway(client), meter, client.connections)
                info["opened"] = gateway.opened
                cfg = EngineConfig(
                    deadline_s=3600.0,
                    tasks_per_round=args.tasks_per_miner,
                    seed=None,
                    max_labellers=args.labellers_per_copy,
                )
                engine = Engine(
                    store,
                    gateway,
                    ProceduralSource(seed=None),
                    chain,
                    wallet,
                    wallet.hotkey.ss58_address,
                    cfg,
                    default_obfuscator(),
                    clock=clock,
                )
                info["concurrency"] = settings.transport.max_concurrency
                limit = args.stage_timeout

                async def step(name: str, call: Callable[[], Awaitable[Any]]) -> Any:
                    with meter.stage(name) as st, profiled(args.profile == name):
                        out = await asyncio.wait_for(call(), limit)
                        if name in meter.fanouts:
                            st.fanout, st.fanout_cpu, st.fanout_fleet_cpu = meter.fanouts.pop(name)
                        return out

                active = await step("heartbeat", engine.refresh_miners)
                info["active"] = len(active)

                # the round's three stages, timed where the engine calls them
                fill_slots, plan_copies = planner.fill_slots, planner.plan_copies
                create_round = store.create_round

                async def timed_fill(*a: Any, **k: Any) -> Any:
                    with meter.stage("generation"):
                        return await fill_slots(*a, **k)

                def timed_copies(*a: Any, **k: Any) -> Any:
                    with meter.stage("obfuscated copies"):
                        return plan_copies(*a, **k)

                def timed_store(*a: Any, **k: Any) -> Any:
                    with meter.stage("store (create_round)"):
                        return create_round(*a, **k)

                planner.fill_slots, planner.plan_copies = timed_fill, timed_copies  # type: ignore[assignment]
                store.create_round = timed_store  # type: ignore[method-assign]
                try:
                    t_round = time.perf_counter()
                    round_id = await asyncio.wait_for(engine.start_round(), limit)
                    info["start_round_s"] = time.perf_counter() - t_round
                finally:
                    planner.fill_slots, planner.plan_copies = fill_slots, plan_copies  # type: ignore[assignment]
                    store.create_round = create_round  # type: ignore[method-assign]
                info["round"] = round_id
                info["dispatched"] = await step("dispatch", engine.dispatch)
                offset = timedelta(seconds=cfg.deadline_s + 1)  # the deadline has passed
                info["collected_tasks"] = await step("collect", engine.collect)
                info["scored"] = await step("scoring", engine.score)
                info["feedback"] = await step("feedback", engine.feedback)
                info["weights_set"] = await step("weights", lambda: engine.set_weights(force=True))
                info["task_states"] = await asyncio.to_thread(store.task_counts)
            store.dispose()
            info["fleet_rss"] = rss_bytes([fleet.pid])
            info["weights_on_chain"] = len(chain.weights().get(0, {}))
    finally:
        stop_fleet(fleet)
        procpool.shutdown()
    info["miners"] = n_ports
    return meter, info


def report(args: argparse.Namespace, meter: Meter, info: dict[str, Any]) -> None:
    print(
        f"\nvalidator round: {info['miners']} miners x {args.tasks_per_miner} tasks, {args.labellers_per_copy} labellers per copy, "
        f"signed HTTP on loopback, fleet in one process, {os.cpu_count()} CPUs, "
        f"validator loop {'uvloop' if args.uvloop else 'asyncio'} "
        f"(set-up {info['setup_s']:.1f} s, client concurrency {info['concurrency']})"
    )
    print(
        f"{'stage':<26} {'wall s':>7} {'CPU-s':>6} {'store s':>7} {'fleet CPU-s':>11} {'peak RSS MB':>11} {'load':>5}"
        f" | {'fan-out s':>9} {'CPU-s':>6} {'fleet CPU-s':>11}"
    )
    for s in meter.stages:
        cols = f"{s.fanout:9.2f} {s.fanout_cpu:6.2f} {s.fanout_fleet_cpu:11.2f}" if s.fanout is not None else ""
        print(
            f"{s.name:<26} {s.wall:7.2f} {s.cpu:6.2f} {s.store:7.2f} {s.fleet_cpu:11.2f} {s.peak_rss / 2**20:11.0f}"
            f" {s.load:5.1f}"
            f" | {cols}"
        )
    print(
        f"outcome: {info['active']} active, round {info['round']}, {info['dispatched']} copies dispatched, "
        f"{info['collected_tasks']} tasks collected, rounds scored {info['scored']}, {info['feedback']} feedback, "
        f"weights set: {info['weights_set']} ({info['weights_on_chain']} uids on chain); tasks {info['task_states']}; "
        f"fleet RSS at the end {info['fleet_rss'] / 2**20:.0f} MB; start_round in all {info['start_round_s']:.2f} s; "
        f"{info['processes']} planning processes"
    )
    opened = ", ".join(f"{k} {n}" for k, n in info["opened"].items())
    print(f"connections opened by the validator per fan-out (the rest reused a kept-alive one): {opened}")
    warned = ", ".join(f"{k} x{n}" for k, n in info["warnings"].most_common(6))
    print(f"warnings: {warned or 'none'}")
    gen, cop = meter.get("generation"), meter.get("obfuscated copies")
    prep_wall = gen.wall + cop.wall
    prep_rss = max(gen.peak_rss, cop.peak_rss)
    d = meter.get("dispatch")
    fan = d.fanout if d.fanout is not None else float("nan")
    print(
        f"\nfigures against the goal (1-minute load average of this {os.cpu_count()}-CPU machine: {gen.load:.1f} to {cop.load:.1f})"
    )
    print(
        f"  preparation (generation + copies) wall {prep_wall:6.2f} s   goal <= {GOALS['prepare_s']:.0f} s   "
        f"{'met' if prep_wall <= GOALS['prepare_s'] else 'MISSED'}  "
        f"({gen.cpu + cop.cpu:.1f} CPU-s: >= {(gen.cpu + cop.cpu) / (os.cpu_count() or 1):.1f} s on idle CPUs)"
    )
    print(
        f"  preparation peak RSS              {prep_rss / GIB:6.2f} GiB goal <= 1.5 GiB  "
        f"{'met' if prep_rss <= GOALS['prepare_rss'] else 'MISSED'}"
    )
    print(
        f"  dispatch fan-out                  {fan:6.2f} s   goal <= {GOALS['dispatch_fanout_s']:.0f} s   "
        f"{'met' if fan <= GOALS['dispatch_fanout_s'] else 'MISSED'}  "
        f"({d.fanout_cpu:.2f} + {d.fanout_fleet_cpu:.2f} CPU-s validator + fleet; whole dispatch step {d.wall:.2f} s)"
    )


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--miners", type=int, default=256, help="registered miners, each a fake miner of the fleet")
    ap.add_argument("--tasks-per-miner", type=int, default=4, help="tasks per miner in the round")
    ap.add_argument("--labellers-per-copy", type=int, default=3, help="labellers answering each copy")
    ap.add_argument("--plan-processes", type=int, default=None, help="planning processes (default: one per CPU)")
    ap.add_argument("--request-timeout", type=float, default=30.0, help="the client's per-request timeout, seconds")
    ap.add_argument(
        "--uvloop", action="store_true", help="run the validator's event loop on uvloop (the service does not)"
    )
    ap.add_argument("--profile", metavar="STAGE", help="print a cProfile of one stage (e.g. dispatch)")
    ap.add_argument("--stage-timeout", type=float, default=300.0, help="bound of every stage, seconds")


def run(args: argparse.Namespace) -> None:
    if not 1 <= args.miners <= 1024:
        raise SystemExit("--miners must be within 1..1024")
    if args.uvloop:
        import uvloop

        uvloop.install()
    with tempfile.TemporaryDirectory(prefix="dojo-scale-round-") as tmp:
        meter, info = asyncio.run(run_round(args, Path(tmp)))
    report(args, meter, info)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    run(ap.parse_args())


if __name__ == "__main__":
    main()
