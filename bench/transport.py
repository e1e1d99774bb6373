"""Signed transport benchmark: what btauth/1 signing + verification costs, against unsigned calls.

Runs ``SERVERS`` miner server processes on loopback (uvicorn, uvloop + httptools). Each hosts a
share of ``MINERS`` miner identities, every identity with its own ``ValidatorGate`` exactly as a
real miner has, at ``/s/{i}/v1/heartbeat``; the same handler without the gate answers at
``/u/{i}/...``, and with a Redis-backed nonce store at ``/r/{i}/...``. The client is
``SignedClient``; the unsigned peer is the same class with signing switched off, so both go
through the same code path and the same pooled connections.

Prints a table and the ratios signed/unsigned. Aim: signing + verification add at most 25% to
the round-trip p50; a fan-out to 256 miners completes within 0.5 s.

    python bench/transport.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fastapi import Depends, FastAPI, HTTPException, Request

from dojo.protocol import HeartbeatReply

SERVERS = 2  # server processes; the identities are spread over them
MINERS = 256
REDIS_URL = os.environ.get("DOJO_BENCH_REDIS", "redis://127.0.0.1:6379/0")
AIM_P50_OVERHEAD = 0.25
AIM_FANOUT_256_S = 0.5


# ---------------------------------------------------------------------------------------------
# server side (a separate process per server: ``python bench/transport.py --serve CONFIG INDEX``)


def serve(config_path: str, index: int) -> None:
    """Run one server process hosting every identity ``i`` with ``i % servers == index``, each on its own port.

    The ports (bound here, on port 0) are written to ``ports-INDEX.json`` next to the config.
    """
    import uvicorn

    from dojo.chain.base import Metagraph, Neuron
    from dojo.transport.nonces import make_nonce_store
    from dojo.transport.server import ValidatorGate

    config = json.loads(Path(config_path).read_text())
    snapshot = Metagraph(netuid=1, block=1, neurons=tuple(Neuron(**n) for n in config["neurons"]))
    mine = {i: hk for i, hk in enumerate(config["miners"]) if i % config["servers"] == index}
    sockets, by_port = [], {}
    for i in mine:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
        by_port[sock.getsockname()[1]] = i
    gates = {i: ValidatorGate(hk, lambda: snapshot, min_stake=1000.0) for i, hk in mine.items()}
    redis_gates: dict[int, ValidatorGate] = {}
    if config["redis_url"]:
        store = make_nonce_store(config["redis_url"], config["redis_prefix"])
        redis_gates = {
            i: ValidatorGate(hk, lambda: snapshot, min_stake=1000.0, nonce_store=store) for i, hk in mine.items()
        }

    def miner(request: Request) -> int:
        """Which identity a request is for: the port it arrived on, as for a real miner."""
        return by_port[request.scope["server"][1]]

    def pick(table: dict[int, ValidatorGate]):
        async def gate(request: Request) -> str:
            i = miner(request)
            if i not in table:
                raise HTTPException(404, "this route is not enabled")
            return await table[i](request)

        return gate

    def reply(request: Request, body: bytes) -> HeartbeatReply:
        json.loads(body or b"{}")  # parse the request as a real handler would
        return HeartbeatReply(hotkey=mine[miner(request)], version="bench", worker_api_ok=True)

    app = FastAPI()

    @app.post("/s/v1/heartbeat")
    async def signed(request: Request, caller: str = Depends(pick(gates))) -> HeartbeatReply:
        return reply(request, await request.body())

    @app.post("/r/v1/heartbeat")
    async def signed_redis(request: Request, caller: str = Depends(pick(redis_gates))) -> HeartbeatReply:
        return reply(request, await request.body())

    @app.post("/u/v1/heartbeat")
    async def unsigned(request: Request) -> HeartbeatReply:
        return reply(request, await request.body())

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    out = Path(config_path).with_name(f"ports-{index}.json")
    out.with_suffix(".tmp").write_text(json.dumps({str(i): port for port, i in by_port.items()}))
    out.with_suffix(".tmp").rename(out)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level="warning",
            lifespan="off",
            backlog=4096,
            timeout_keep_alive=120,
        )
    )
    server.run(sockets=sockets)


# ---------------------------------------------------------------------------------------------
# client side


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest-rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def redis_ok(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001 - any failure: the Redis row is skipped
        return False


def wait_ready(tmp: Path, servers: int, procs: list[subprocess.Popen], timeout: float = 30.0) -> dict[int, int]:
    """Wait for every server's port file and a healthy answer on each port; ``{identity: port}``."""
    import httpx

    deadline = time.monotonic() + timeout
    ports: dict[int, int] = {}
    pending = set(range(servers))
    while pending or not ports:
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise SystemExit(f"bench servers did not start (servers {sorted(pending)} missing)")
        for k in list(pending):
            path = tmp / f"ports-{k}.json"
            if path.exists():
                ports.update({int(i): port for i, port in json.loads(path.read_text()).items()})
                pending.discard(k)
        time.sleep(0.05)
    waiting = set(ports.values())
    while waiting:
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(waiting)} bench ports never answered")
        for port in list(waiting):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                    waiting.discard(port)
            except httpx.HTTPError:
                pass
        time.sleep(0.05) if waiting else None
    return ports


def cpu_seconds(pids: list[int]) -> float | None:
    """CPU time used so far by this process and the server processes (Linux /proc), or None."""
    total = time.process_time()
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return total


async def run_client(
    config: dict, ports: dict[int, int], server_pids: list[int], validator_seed: str, args: argparse.Namespace
) -> list[tuple[str, ...]]:
    """Every measurement; returns the table rows."""
    from bittensor.sp_core import Keypair

    from dojo.transport.client import SignedClient, Target

    class UnsignedClient(SignedClient):
        """The same client with signing switched off: the peer every ratio is taken against."""

        def auth_headers(self, method: str, target: str, body: bytes, receiver_hotkey: str) -> dict[str, str]:
            return {}

    keypair = Keypair.create_from_uri(validator_seed)
    miners = config["miners"]

    def targets(prefix: str, n: int) -> list[Target]:
        return [Target(hk, f"http://127.0.0.1:{ports[i]}/{prefix}", i) for i, hk in enumerate(miners[:n])]

    rows: list[tuple[str, ...]] = []
    body = {"round": 1}
    async with SignedClient(keypair, timeout=10.0) as signed, UnsignedClient(keypair, timeout=10.0) as unsigned:
        kinds = [("unsigned", unsigned, "u"), ("signed", signed, "s")]
        if config["redis_url"]:
            kinds.append(("signed+redis", signed, "r"))

        # The first fan-out opens every connection (cold); the pools then stay warm, like a
        # validator's after its first round.
        for name, client, prefix in kinds:
            started = time.perf_counter()
            results = await client.fan_out(targets(prefix, MINERS), "/v1/heartbeat", body, HeartbeatReply)
            wall = time.perf_counter() - started
            bad = [r for r in results.values() if not isinstance(r, HeartbeatReply)]
            if bad:
                raise SystemExit(f"cold fan-out {name}: {len(bad)} failures, e.g. {bad[0]!r}")
            rows.append((f"fan-out to {MINERS}, {name}, cold", "1", f"{wall * 1e3:.1f} ms", "-", "-", "-"))
        print(f"[{time.strftime('%X')}] warm-up done", file=sys.stderr)

        # Round trip: sequential calls to one miner, the kinds alternating call by call so that
        # any load from elsewhere on the machine hits them alike.
        rtt: dict[str, list[float]] = {name: [] for name, _, _ in kinds}
        one = {prefix: targets(prefix, 1)[0] for _, _, prefix in kinds}
        deadline = time.monotonic() + args.phase_s
        for k in range(args.rtt_calls):
            if time.monotonic() > deadline and k >= 100:
                break
            for name, client, prefix in kinds[k % len(kinds) :] + kinds[: k % len(kinds)]:
                t = one[prefix]
                started = time.perf_counter()
                await client.post(t.address, t.hotkey, "/v1/heartbeat", body, HeartbeatReply)
                rtt[name].append(time.perf_counter() - started)
        print(f"[{time.strftime('%X')}] round trips done", file=sys.stderr)
        base = statistics.median(rtt["unsigned"])
        for name, _, _ in kinds:
            p50, p99 = statistics.median(rtt[name]), pct(rtt[name], 0.99)
            rows.append(
                (
                    f"round trip, {name}",
                    f"{len(rtt[name])}",
                    f"{p50 * 1e3:.3f} ms",
                    f"{p99 * 1e3:.3f} ms",
                    f"{p50 / base:.2f}x",
                    "-",
                )
            )

        # Fan-out: one signed request to n miners at once, wall time per fan-out.
        for n in (64, 256):
            walls: dict[str, list[float]] = {name: [] for name, _, _ in kinds}
            cpus: dict[str, list[float]] = {name: [] for name, _, _ in kinds}
            tgt = {prefix: targets(prefix, n) for _, _, prefix in kinds}
            deadline = time.monotonic() + args.phase_s
            for rnd in range(args.fanout_rounds):
                if time.monotonic() > deadline and rnd >= 3:
                    break
                for name, client, prefix in kinds:
                    cpu0, started = cpu_seconds(server_pids), time.perf_counter()
                    results = await client.fan_out(tgt[prefix], "/v1/heartbeat", body, HeartbeatReply)
                    walls[name].append(time.perf_counter() - started)
                    cpu1 = cpu_seconds(server_pids)
                    if cpu0 is not None and cpu1 is not None:
                        cpus[name].append(cpu1 - cpu0)
                    bad = [res for res in results.values() if not isinstance(res, HeartbeatReply)]
                    if bad:
                        raise SystemExit(f"fan-out {name} to {n}: {len(bad)} failures, e.g. {bad[0]!r}")
            base = statistics.median(walls["unsigned"])
            for name, _, _ in kinds:
                p50 = statistics.median(walls[name])
                cpu = f"{statistics.mean(cpus[name]) * 1e3:.0f} ms" if cpus[name] else "n/a"
                rows.append(
                    (
                        f"fan-out to {n}, {name}",
                        f"{len(walls[name])}",
                        f"{p50 * 1e3:.1f} ms",
                        f"{max(walls[name]) * 1e3:.1f} ms (max)",
                        f"{p50 / base:.2f}x",
                        cpu,
                    )
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", nargs=2, metavar=("CONFIG", "INDEX"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis nonce-store rows")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    # Counts, each phase also cut at phase_s seconds so a busy machine still finishes in about a minute.
    args.rtt_calls, args.fanout_rounds, args.phase_s = (300, 3, 4.0) if args.quick else (1500, 15, 8.0)

    from bittensor.sp_core import Keypair

    validator_seed = "//DojoBenchValidator"
    validator = Keypair.create_from_uri(validator_seed)
    miners = [Keypair.create_from_uri(f"//DojoBenchMiner{i}").ss58_address for i in range(MINERS)]
    neurons = [
        {
            "uid": 0,
            "hotkey": validator.ss58_address,
            "coldkey": validator.ss58_address,
            "stake": 5000.0,
            "validator_permit": True,
        }
    ]
    neurons += [
        {"uid": i + 1, "hotkey": hk, "coldkey": hk, "stake": 0.0, "validator_permit": False}
        for i, hk in enumerate(miners)
    ]
    use_redis = not args.no_redis and redis_ok(REDIS_URL)
    prefix = f"dojo-bench:{os.getpid()}:"
    config = {
        "servers": SERVERS,
        "miners": miners,
        "neurons": neurons,
        "redis_url": REDIS_URL if use_redis else None,
        "redis_prefix": prefix,
    }

    started = time.monotonic()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.json"
        path.write_text(json.dumps(config))
        procs = [subprocess.Popen([sys.executable, __file__, "--serve", str(path), str(k)]) for k in range(SERVERS)]
        try:
            ports = wait_ready(Path(tmp), SERVERS, procs)
            rows = asyncio.run(run_client(config, ports, [p.pid for p in procs], validator_seed, args))
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
            if use_redis:
                import redis

                r = redis.Redis.from_url(REDIS_URL)
                keys = list(r.scan_iter(match=prefix + "*", count=1000))
                if keys:
                    r.delete(*keys)

    print(
        f"\nSigned transport (btauth/1), {SERVERS} server processes hosting {MINERS} miner identities, "
        f"loopback, {os.cpu_count()} CPUs, load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} "
        "(other work on the machine inflates every figure; the ratios are the comparable part)"
    )
    header = ("measure", "n", "p50", "p99 / max", "vs unsigned", "CPU (client+servers)")
    widths = [max(len(str(r[c])) for r in [header, *rows]) for c in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)))

    ratio = {r[0]: float(r[4].rstrip("x")) for r in rows if r[4] != "-"}
    p50_256 = next(float(r[2].split()[0]) / 1e3 for r in rows if r[0] == "fan-out to 256, signed")
    overhead = ratio["round trip, signed"] - 1
    print(
        f"\nsigning + verification add {overhead:+.0%} to the round-trip p50 (aim <= +{AIM_P50_OVERHEAD:.0%}): "
        f"{'OK' if overhead <= AIM_P50_OVERHEAD else 'MISSED'}"
    )
    print(
        f"signed fan-out to 256 miners p50 {p50_256 * 1e3:.0f} ms (aim <= {AIM_FANOUT_256_S * 1e3:.0f} ms): "
        f"{'OK' if p50_256 <= AIM_FANOUT_256_S else 'MISSED'}"
    )
    print(f"(bench wall time {time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
