"""``dojo localnet``: a whole Dojo subnet on this machine, as real processes on loopback.

Order of things: wallets → local chain (register, stake) → synthetic API → worker API(s) →
API and subscription keys per miner (through the same hotkey login the key shell uses) →
miners → validator → simulated labellers → a few external tasks → wait for the rounds →
leaderboard → dataset export → stop every process by its PID.

Beside it: ``roles`` (each process's command line and environment), ``processes`` (starting,
health, stopping by PID), ``oracle`` (the simulated labellers' truth), ``leaderboard`` (the
outcome and its ranking check), ``run`` (the terminal view). The validator's store is only
read, through :meth:`ValidatorStore.open_read_only`.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from dojo.errors import DojoError
from dojo.localnet import roles
from dojo.localnet.crews import DEFAULT_CREWS, Crew, ResaleBoard, check_crews, make_brains, publisher
from dojo.localnet.labellers import SimulatedLabeller
from dojo.localnet.leaderboard import (
    LocalnetResult,
    MinerResult,
    ranked_as_expected,
    ranking_problems,
    write_leaderboard,
)
from dojo.localnet.oracle import TruthOracle
from dojo.localnet.processes import Service, free_port
from dojo.logs import log
from dojo.validator.store.repo import ValidatorStore

logger = logging.getLogger(__name__)

__all__ = [
    "LocalNetwork",
    "LocalnetConfig",
    "LocalnetResult",
    "MinerResult",
    "MinerSlot",
    "ranked_as_expected",
    "ranking_problems",
]

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
        self.store_url = f"sqlite:///{self.home / 'validator.db'}"
        self._store: ValidatorStore | None = None  # the validator's, read-only, once it exists
        self.oracle = TruthOracle(self.store_url)
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
        name = "worker-api" if self.cfg.shared_worker_api else f"worker-api-{i}"
        svc = roles.worker_api(name, port, self.home, self.base_env(), self.logs)
        self.services.append(svc)
        return svc, f"http://127.0.0.1:{port}", f"127.0.0.1:{port}"

    def start_backends(self) -> None:
        """The synthetic API and the worker API(s)."""
        self.synthetic = roles.synthetic_api(free_port(), self.cfg.seed * 1000, self.base_env(), self.logs)
        self.services.insert(0, self.synthetic)
        for svc in self.services:
            svc.start()
        for svc in self.services:
            svc.wait_healthy(60)

    def make_keys(self) -> None:
        """Each miner logs in to its worker API with its hotkey and makes an API key and a subscription key."""
        from dojo.chain.wallets import load_wallet
        from dojo.miner.keys_client import KeysClient

        for m in self.miners:
            wallet = load_wallet(m.wallet_name, "default", self.wallets)
            with KeysClient(m.worker_url, wallet.hotkey) as client:
                client.authenticate()
                m.api_key, _ = client.generate_key("api_key", name="localnet miner")
                m.subscription_key, _ = client.generate_key("subscription_key", name="localnet crew")

    def start_miners(self) -> None:
        for m in self.miners:
            m.service = roles.miner(
                m.index, free_port(), m.wallet_name, m.worker_url, m.api_key, self.base_env(), self.logs
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
        self.external_port = self.external_port or free_port()  # one address across a --keep-open restart
        assert self.synthetic is not None and self.synthetic.health_url is not None
        self.validator = roles.validator(
            rounds=None if open_ended else self.cfg.rounds,
            seed=self.cfg.seed,
            tasks_per_round=self.cfg.tasks_per_round,
            synthetic_url=self.synthetic.health_url.rsplit("/health", 1)[0],
            external_port=self.external_port,
            external_token=self.external_token,
            env=self.base_env(),
            logs=self.logs,
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
        store = self._validator_store()
        if store is None:
            return []
        out = []
        for rid in self.external_ids:
            req = store.external_request(rid)
            out.append({"id": rid, "state": req.state if req else "missing", "result": req.result if req else None})
        return out

    # -- watching ------------------------------------------------------------------------------

    def _validator_store(self) -> ValidatorStore | None:
        if self._store is None:
            self._store = ValidatorStore.open_read_only(self.store_url)
        return self._store

    def status(self) -> dict[str, Any]:
        """Counts and scores for the live view, read from the validator's store (read-only)."""
        out: dict[str, Any] = {"tasks": {}, "rounds": 0, "scores": {}, "means": {}, "counts": {}, "labels": {}}
        for m in self.miners:
            out["labels"][m.hotkey] = sum(lab.submitted for lab in m.labellers)
        store = self._validator_store()
        if store is None:
            return out
        p = store.progress()
        out["tasks"], out["rounds"], out["scores"] = p.tasks, p.rounds_scored, p.running
        out["means"] = {hk: mean for hk, (mean, _) in p.task_means.items()}
        out["counts"] = {hk: n for hk, (_, n) in p.task_means.items()}
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
        return write_leaderboard(self.home / "leaderboard.json", rows)

    def export(self) -> tuple[Path, int]:
        from dojo.dataset import export_dataset

        out = self.home / "dataset"
        summary = export_dataset(self.store_url, out, fmt=self.cfg.export_format)
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
        self.oracle.close()
        if self._store is not None:
            self._store.dispose()
            self._store = None
        return unclean
