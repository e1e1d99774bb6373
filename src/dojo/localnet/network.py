"""``dojo localnet``: a whole Dojo subnet on this machine, as real processes on loopback.

Order of things: wallets → local chain (register, stake) → synthetic API → worker API(s) →
API and subscription keys per miner (through the same hotkey login the key shell uses) →
miners → validator → simulated labellers → a few external tasks → wait for the rounds →
leaderboard → dataset export → stop every process by its PID.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dojo.errors import DojoError
from dojo.localnet.crews import DEFAULT_CREWS, Crew, ResaleBoard, Strategy, check_crews, make_brains, publisher
from dojo.localnet.labellers import SimulatedLabeller
from dojo.localnet.oracle import TruthOracle
from dojo.localnet.processes import Service, free_port
from dojo.logs import log

logger = logging.getLogger(__name__)

VALIDATOR_STAKE = 10_000.0


@dataclass
class LocalnetConfig:
    """Everything ``dojo localnet`` can be told."""

    miners: int = 3
    crews: list[Crew] = field(default_factory=list)  # cycled over the miners; default DEFAULT_CREWS
    rounds: int = 4
    tasks_per_round: int = 3
    seed: int = 0
    home: Path | None = None
    keep_open: bool = False
    shared_worker_api: bool = False
    external_tasks: int = 1
    deadline_s: float = 10.0
    kill_miner: int | None = None  # stop this miner (by index) once the first round is scored
    timeout_s: float = 600.0
    export_format: str = "parquet"

    def crew(self, i: int) -> Crew:
        crews = self.crews or DEFAULT_CREWS
        return crews[i % len(crews)]

    def all_crews(self) -> list[Crew]:
        """Every miner's crew, in miner order."""
        return [self.crew(i) for i in range(self.miners)]


@dataclass
class MinerSlot:
    """One miner of the local network and everything that belongs to it."""

    index: int
    wallet_name: str
    hotkey: str
    uid: int
    crew: Crew
    worker: Service
    worker_url: str
    domain: str
    service: Service | None = None
    api_key: str = ""
    subscription_key: str = ""
    labellers: list[SimulatedLabeller] = field(default_factory=list)
    killed: bool = False


@dataclass
class MinerResult:
    """A row of the leaderboard."""

    name: str
    hotkey: str
    uid: int
    crew: Crew
    mean_task_score: float | None
    running_score: float | None
    weight: float
    balance: float
    labels: int
    killed: bool
    score_before_kill: float | None = None
    tasks: int = 0  # tasks scored

    def as_json(self) -> dict[str, Any]:
        """One object of ``leaderboard.json``."""
        return {
            "miner": self.name,
            "uid": self.uid,
            "hotkey": self.hotkey,
            "crew": self.crew.spec,
            "strategy": self.crew.strategy.value,
            "tasks": self.tasks,
            "score": self.mean_task_score,
            "running": self.running_score,
            "weight": self.weight,
            "balance": self.balance,
            "labels": self.labels,
            "killed": self.killed,
        }


@dataclass
class LocalnetResult:
    """What a run of the local network produced."""

    home: Path
    miners: list[MinerResult]
    dataset_dir: Path | None
    dataset_tasks: int
    external: list[dict[str, Any]]
    failures: list[str]
    ranked_as_expected: bool


#: A reseller's hotkeys together (the resold miner and its copiers) may earn at most this times the resold miner.
RESALE_LIMIT = 1.1


def ranking_problems(rows: list[MinerResult]) -> list[str]:
    """Where the weights do not order the miners (those not killed) as their crews' quality does.

    A crew with signal (quality > 0) must out-earn every worse crew; crews without signal (bots
    count as quality 0, as do lazy and random people) need only not earn less than worse ones,
    since the scoring may rightly pay them all nothing. Copiers are their own category: the
    resold miner and its copiers together may earn at most :data:`RESALE_LIMIT` times the
    resold miner alone.
    """
    problems = []
    rated = [(r, r.crew.quality) for r in rows if not r.killed and r.crew.quality is not None]
    for better, qb in rated:
        for worse, qw in rated:
            if qb is None or qw is None or qb <= qw:
                continue
            if better.weight < worse.weight or (qb > 0 and better.weight <= worse.weight):
                problems.append(
                    f"{worse.name} ({worse.crew.label}) earns {worse.weight:.3f}, "
                    f"not less than {better.name} ({better.crew.label}) with {better.weight:.3f}"
                )
    by_name = {r.name: r for r in rows}
    for n in sorted({r.crew.source for r in rows if r.crew.strategy is Strategy.copier and r.crew.source is not None}):
        source = by_name.get(f"miner{n}")
        copiers = [r for r in rows if r.crew.strategy is Strategy.copier and r.crew.source == n]
        total = sum(c.weight for c in copiers)
        if source is not None and source.weight + total > RESALE_LIMIT * source.weight + 1e-9:
            problems.append(
                f"miner{n}'s copiers earn {total:.3f} on top of its {source.weight:.3f} "
                f"(together more than {RESALE_LIMIT}× miner{n})"
            )
    return problems


def ranked_as_expected(rows: list[MinerResult]) -> bool:
    """Do the weights order the miners as their crews' quality does? (see :func:`ranking_problems`)"""
    return not ranking_problems(rows)


class LocalNetwork:
    """Builds, runs and tears down the local network; ``status()`` feeds the live view."""

    def __init__(self, cfg: LocalnetConfig) -> None:
        if cfg.miners < 1 or cfg.miners > 16:
            raise DojoError(f"--miners must be between 1 and 16, got {cfg.miners}")
        if cfg.rounds < 1:
            raise DojoError(f"--rounds must be at least 1, got {cfg.rounds}")
        if cfg.kill_miner is not None and not 0 <= cfg.kill_miner < cfg.miners:
            raise DojoError(f"--kill-miner must name a miner index 0..{cfg.miners - 1}")
        try:
            check_crews(cfg.all_crews())
        except ValueError as exc:
            raise DojoError(f"--crews: {exc}") from None
        self.cfg = cfg
        self.home = (cfg.home or Path(tempfile.mkdtemp(prefix="dojo-localnet-"))).expanduser().resolve()
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs = self.home / "logs"
        self.wallets = self.home / "wallets"
        self.services: list[Service] = []
        self.miners: list[MinerSlot] = []
        self.validator: Service | None = None
        self.synthetic: Service | None = None
        self.chain: Any = None
        self.oracle = TruthOracle(self.home / "validator.db")
        self.board = ResaleBoard()
        self.external_ids: list[str] = []
        self.external_token = secrets.token_urlsafe(24)
        self.external_port = 0
        self.validator_uid = -1
        self.events: list[str] = []
        self._score_at_kill: float | None = None

    # -- environment ---------------------------------------------------------------------------

    def base_env(self) -> dict[str, str]:
        """What every child process shares: the data directory, the fast profile, the local chain."""
        return {
            "DOJO_HOME": str(self.home),
            "DOJO_PROFILE": "fast",
            "DOJO_CHAIN_NETWORK": "local",
            "DOJO_CHAIN_LOCAL_DB": str(self.home / "chain.db"),
            "DOJO_WALLET_PATH": str(self.wallets),
            "DOJO_TIMING_TASK_DEADLINE_S": str(self.cfg.deadline_s),
            "DOJO_LOG_LEVEL": "INFO",
            "HOME": str(self.home),  # the bittensor SDK writes under ~/.bittensor
        }

    def settings(self) -> Any:
        from dojo.config import load_settings

        return load_settings(
            home=self.home, profile="fast", chain__network="local", chain__local_db=self.home / "chain.db"
        )

    # -- set-up --------------------------------------------------------------------------------

    def setup_chain(self) -> None:
        """Wallets for the validator and each miner, registered on a fresh local chain."""
        from dojo.chain import chain_params
        from dojo.chain.local import LocalChain
        from dojo.chain.wallets import create_wallet

        self.chain = LocalChain(self.home / "chain.db", chain_params(self.settings()))
        v = create_wallet("validator", "default", self.wallets, overwrite=True)
        self.validator_uid = self.chain.register(v.hotkey.ss58_address, v.coldkeypub.ss58_address)
        self.chain.add_stake(v.hotkey.ss58_address, VALIDATOR_STAKE)
        shared: tuple[Service, str, str] | None = None
        for i in range(self.cfg.miners):
            w = create_wallet(f"miner{i}", "default", self.wallets, overwrite=True)
            uid = self.chain.register(w.hotkey.ss58_address, w.coldkeypub.ss58_address)
            if shared is None or not self.cfg.shared_worker_api:
                shared = self._worker_api(i)
            worker, url, domain = shared
            self.miners.append(
                MinerSlot(i, f"miner{i}", w.hotkey.ss58_address, uid, self.cfg.crew(i), worker, url, domain)
            )
        log(logger, "localnet.chain_ready", validator_uid=self.validator_uid, miners=self.cfg.miners)

    def _worker_api(self, i: int) -> tuple[Service, str, str]:
        port = free_port()
        domain = f"127.0.0.1:{port}"
        name = "worker-api" if self.cfg.shared_worker_api else f"worker-api-{i}"
        svc = Service(
            name,
            ["worker-api", "--port", str(port)],
            {
                **self.base_env(),
                "DOJO_WORKER_DB_URL": f"sqlite:///{self.home / (name + '.db')}",
                "DOJO_WORKER_JWT_SECRET": secrets.token_urlsafe(48),  # its own, not the one file in the shared home
                "DOJO_WORKER_SIWE_DOMAIN": domain,
                "DOJO_WORKER_MAX_RESULTS": "3",
                # every simulated labeller comes from 127.0.0.1 and polls often
                "DOJO_WORKER_RATE_LIMIT_LABELLER": "6000/minute",
                "DOJO_WORKER_RATE_LIMIT_IP": "60000/minute",
            },
            self.logs / f"{name}.log",
            f"http://{domain}/health",
        )
        self.services.append(svc)
        return svc, f"http://{domain}", domain

    def start_backends(self) -> None:
        """The synthetic API and the worker API(s)."""
        port = free_port()
        self.synthetic = Service(
            "synthetic-api",
            ["synthetic-api", "--port", str(port), "--generator", "procedural", "--seed", str(self.cfg.seed * 1000)],
            self.base_env(),
            self.logs / "synthetic-api.log",
            f"http://127.0.0.1:{port}/health",
        )
        self.services.insert(0, self.synthetic)
        for svc in self.services:
            svc.start()
        for svc in self.services:
            svc.wait_healthy(60)

    def make_keys(self) -> None:
        """Each miner logs in to its worker API with its hotkey and makes an API key and a subscription key."""
        from dojo.chain.wallets import load_wallet
        from dojo.cli.keys.client import WorkerApiClient

        for m in self.miners:
            wallet = load_wallet(m.wallet_name, "default", self.wallets)
            with WorkerApiClient(m.worker_url, wallet.hotkey) as client:
                client.authenticate()
                m.api_key, _ = client.generate_key("api_key", name="localnet miner")
                m.subscription_key, _ = client.generate_key("subscription_key", name="localnet crew")

    def start_miners(self) -> None:
        for m in self.miners:
            port = free_port()
            m.service = Service(
                f"miner-{m.index}",
                ["miner", "--port", str(port)],
                {
                    **self.base_env(),
                    "DOJO_WALLET_NAME": m.wallet_name,
                    "DOJO_WALLET_HOTKEY": "default",
                    "DOJO_MINER_WORKER_API_URL": m.worker_url,
                    "DOJO_MINER_API_KEY": m.api_key,
                },
                self.logs / f"miner-{m.index}.log",
                f"http://127.0.0.1:{port}/health",
            )
            self.services.append(m.service)
            m.service.start()
        for m in self.miners:
            assert m.service is not None
            m.service.wait_healthy(60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the validator finds miners by their published address
            graph = self.chain.metagraph()
            if all((n := graph.by_hotkey(m.hotkey)) is not None and n.address for m in self.miners):
                return
            time.sleep(0.2)
        raise DojoError("the miners did not publish their addresses on the local chain within 30 s")

    def start_validator(self, open_ended: bool = False) -> None:
        """The validator: ``cfg.rounds`` rounds, or (``open_ended``) until stopped, for people to label."""
        self.external_port = free_port()
        assert self.synthetic is not None
        rounds = [] if open_ended else ["--rounds", str(self.cfg.rounds)]
        self.validator = Service(
            "validator-open" if open_ended else "validator",
            [
                "validator",
                *rounds,
                "--seed",
                str(self.cfg.seed),
                "--tasks-per-round",
                str(self.cfg.tasks_per_round),
                "--task-source",
                "api",
                "--synthetic-api-url",
                self.synthetic.health_url.rsplit("/health", 1)[0],  # type: ignore[union-attr]
                "--external-api-port",
                str(self.external_port),
            ],
            {
                **self.base_env(),
                "DOJO_WALLET_NAME": "validator",
                "DOJO_WALLET_HOTKEY": "default",
                "DOJO_VALIDATOR_EXTERNAL_API_TOKEN": self.external_token,
            },
            self.logs / "validator.log",
            f"http://127.0.0.1:{self.external_port}/health",
        )
        self.services.append(self.validator)
        self.validator.start()
        self.validator.wait_healthy(60)

    def make_labellers(self) -> None:
        """Each miner's simulated labellers, with the brains its crew calls for."""
        s = self.settings()
        crews = [m.crew for m in self.miners]
        for m in self.miners:
            base = self.cfg.seed * 7919 + m.index * 101
            brains = make_brains(crews, m.index, self.oracle, self.board, seed=base + 50)
            for j, brain in enumerate(brains):
                m.labellers.append(
                    SimulatedLabeller(
                        name=f"miner{m.index}-{brain.kind}-{j}",
                        brain=brain,
                        api_url=m.worker_url,
                        domain=m.domain,
                        chain_id=s.worker.siwe_chain_id,
                        subscription_key=m.subscription_key,
                        seed=base + j,
                        on_submit=publisher(crews, m.index, self.board),
                    )
                )

    async def submit_external(self) -> None:
        """A few tasks as a data consumer would send them; the oracle learns their true order."""
        from dojo.synthetic.procedural import generate_task

        url = f"http://127.0.0.1:{self.external_port}/api/v1/external-tasks"
        headers = {"Authorization": f"Bearer {self.external_token}"}
        async with httpx.AsyncClient(timeout=10) as client:
            for k in range(self.cfg.external_tasks):
                task = generate_task(10_000_000 + self.cfg.seed * 100 + k)
                self.oracle.register_external({str(c): r for c, r in task.ground_truth.items()})
                body = {
                    "prompt": task.prompt,
                    "responses": [
                        {"completion_id": str(r.completion_id), "content": r.content} for r in task.responses
                    ],
                    "criteria": {"type": "score", "min": 1, "max": 10},
                }
                resp = await client.post(url, json=body, headers=headers)
                if resp.status_code != 201:
                    raise DojoError(f"the external-task API refused a task: {resp.status_code} {resp.text[:200]}")
                self.external_ids.append(resp.json()["id"])

    def external_from_store(self) -> list[dict[str, Any]]:
        """Each submitted external task's state and result, as the external API reports them."""
        import json

        db = self._validator_db()
        if db is None:
            return []
        try:
            out = []
            for rid in self.external_ids:
                row = db.execute("SELECT state, result FROM external_requests WHERE id = ?", (rid,)).fetchone()
                out.append(
                    {
                        "id": rid,
                        "state": row[0] if row else "missing",
                        "result": json.loads(row[1]) if row and row[1] else None,
                    }
                )
            return out
        finally:
            db.close()

    # -- watching ------------------------------------------------------------------------------

    def _validator_db(self) -> sqlite3.Connection | None:
        path = self.home / "validator.db"
        if not path.exists():
            return None
        return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)

    def status(self) -> dict[str, Any]:
        """Counts and scores for the live view, read from the validator's store (read-only)."""
        out: dict[str, Any] = {"tasks": {}, "rounds": 0, "scores": {}, "means": {}, "counts": {}, "labels": {}}
        for m in self.miners:
            out["labels"][m.hotkey] = sum(lab.submitted for lab in m.labellers)
        db = self._validator_db()
        if db is None:
            return out
        try:
            out["tasks"] = dict(db.execute("SELECT state, COUNT(*) FROM tasks GROUP BY state").fetchall())
            out["rounds"] = db.execute("SELECT COUNT(*) FROM rounds WHERE state = 'scored'").fetchone()[0]
            out["scores"] = {hk: s for hk, s in db.execute("SELECT hotkey, score FROM running_scores").fetchall()}
            per_miner = db.execute("SELECT hotkey, AVG(score), COUNT(*) FROM task_scores GROUP BY hotkey").fetchall()
            out["means"] = {hk: mean for hk, mean, _ in per_miner}
            out["counts"] = {hk: n for hk, _, n in per_miner}
        except sqlite3.OperationalError:
            pass
        finally:
            db.close()
        return out

    def failures(self) -> list[str]:
        """Processes that died when they should not have."""
        bad = []
        for svc in self.services:
            code = svc.exit_code()
            if code is None or svc is self.validator and code == 0:
                continue
            if any(m.service is svc and m.killed for m in self.miners):
                continue
            bad.append(f"{svc.name} exited with code {code}; see {svc.log_path}")
        return bad

    def maybe_kill(self, status: dict[str, Any]) -> None:
        """Stop the chosen miner once the first round is scored (to show the network survives it)."""
        k = self.cfg.kill_miner
        if k is None or self.miners[k].killed or status["rounds"] < 1:
            return
        m = self.miners[k]
        self._score_at_kill = status["scores"].get(m.hotkey)
        assert m.service is not None
        m.service.kill()
        m.killed = True
        self.events.append(f"miner{k} was killed (SIGKILL) after round 1, on purpose")
        log(logger, "localnet.miner_killed", miner=k, hotkey=m.hotkey)

    # -- the end -------------------------------------------------------------------------------

    def wait_for_emission(self, timeout: float = 30.0) -> None:
        """Let one more epoch end after the last weights, so balances show them."""
        target = self.chain.last_emitted_epoch() + 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.chain.balances()  # reading settles ended epochs
            if self.chain.last_emitted_epoch() >= target:
                return
            time.sleep(0.2)

    def leaderboard(self) -> list[MinerResult]:
        status = self.status()
        weights = self.chain.weights().get(self.validator_uid, {})
        balances = {b.hotkey: b.balance for b in self.chain.balances()}
        rows = []
        for m in self.miners:
            rows.append(
                MinerResult(
                    name=f"miner{m.index}",
                    hotkey=m.hotkey,
                    uid=m.uid,
                    crew=m.crew,
                    mean_task_score=status["means"].get(m.hotkey),
                    running_score=status["scores"].get(m.hotkey),
                    weight=float(weights.get(m.uid, 0.0)),
                    balance=float(balances.get(m.hotkey, 0.0)),
                    labels=status["labels"].get(m.hotkey, 0),
                    killed=m.killed,
                    score_before_kill=self._score_at_kill if m.killed else None,
                    tasks=int(status["counts"].get(m.hotkey, 0)),
                )
            )
        return rows

    def write_leaderboard(self, rows: list[MinerResult]) -> Path:
        """``leaderboard.json`` in the home: one object per miner, in miner order."""
        import json

        path = self.home / "leaderboard.json"
        path.write_text(json.dumps([r.as_json() for r in rows], indent=2) + "\n")
        return path

    def export(self) -> tuple[Path, int]:
        from dojo.dataset import export_dataset

        out = self.home / "dataset"
        summary = export_dataset(f"sqlite:///{self.home / 'validator.db'}", out, fmt=self.cfg.export_format)
        return out, summary.tasks

    def stop_all(self) -> list[str]:
        """Stop every process we started, newest first; names those that did not exit cleanly."""
        unclean = []
        for svc in reversed(self.services):
            if svc.proc is None:
                continue
            already = svc.exit_code()
            code = svc.stop()
            killed_on_purpose = any(m.service is svc and m.killed for m in self.miners)
            if already is None and code != 0 and not killed_on_purpose:
                unclean.append(f"{svc.name} did not stop cleanly (exit code {code}); see {svc.log_path}")
        if self.chain is not None:
            self.chain.close()
        return unclean
