"""deploy/docker-compose.yml brought up as real processes, without docker, and a round run through it.

Synthetic API, validator, worker API and miner start with the commands and environments compose
gives them (``deployfiles`` says what is changed for this machine, and why), on the local
PostgreSQL server — the validator and the worker API in their own databases, as compose has them —
and the local Redis. The miner's API key is made the way the README says, with
``dojo keys api-key generate``; careful simulated labellers label through the worker API. The round
must go all the way: dispatched, labelled, collected, scored, fed back, weights on the chain; and
each service's data must be in its data directory (the volume), not in ~/.dojo.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from deployfiles import DOJO_SERVICES, compose, compose_env
from sqlalchemy.engine import make_url

from dojo.localnet.processes import Service, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
DEADLINE_S = 15.0


class Topology:
    """Rewrites compose's values for this machine: hosts, ports, databases, directories, Redis keys."""

    def __init__(self, root: Path, databases: dict[str, str], redis_prefix: str) -> None:
        self.root = root
        self.databases = databases  # compose's database name -> this test's
        self.redis_prefix = redis_prefix
        self.ports: dict[tuple[str, int], int] = {}
        self.chain_db = root / "chain.db"
        self.wallets = root / "wallets"

    def port(self, service: str, port: int) -> int:
        """A free port standing in for ``service``'s ``port`` (the same one every time it is asked)."""
        return self.ports.setdefault((service, port), free_port())

    def value(self, service: str, key: str, value: str) -> str:
        names = set(compose()["services"])
        if value == "0.0.0.0":
            return "127.0.0.1"  # listen address: loopback only on a test machine
        if key.endswith("_PORT") and value.isdigit():
            return str(self.port(service, int(value)))
        if value.startswith("postgresql"):
            url = make_url(value)
            assert url.host in names and url.database in self.databases, value
            test_db = self.databases[url.database]
            return str(url.set(host=PG_HOST, port=PG_PORT, username=PG_USER, password=None, database=test_db))
        if value.startswith("redis://"):
            host, _, db = value.removeprefix("redis://").partition("/")
            assert host.split(":")[0] in names, value
            return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"
        if value.startswith("http://"):
            host, _, rest = value.removeprefix("http://").partition("/")
            name, _, port = host.partition(":")
            if name in names:
                return f"http://127.0.0.1:{self.port(name, int(port or 80))}" + (f"/{rest}" if rest else "")
        return value

    def env(self, service: str, **operator: str) -> dict[str, str]:
        """``service``'s environment under compose, localized, with the operator's edits on top."""
        env = {k: self.value(service, k, v) for k, v in compose_env(service).items()}
        data = self.root / service / "data"
        env.update(
            # paths: the volume and the wallet mount
            DOJO_HOME=str(data),
            DOJO_WALLET_PATH=str(self.wallets),
            # the test machine has no finney: every process shares one local chain
            DOJO_CHAIN_NETWORK="local",
            DOJO_CHAIN_LOCAL_DB=str(self.chain_db),
            # seconds, not hours, per round
            DOJO_PROFILE="fast",
            DOJO_TIMING_TASK_DEADLINE_S=str(DEADLINE_S),
            # one Redis shared with other tests: this test's own keys
            DOJO_WORKER_REDIS_PREFIX=self.redis_prefix + "worker:",
            DOJO_SYNTHETIC_REDIS_KEY=self.redis_prefix + "synthetic",
            DOJO_TRANSPORT_NONCE_PREFIX=self.redis_prefix + "nonce:",
            DOJO_LOG_LEVEL="INFO",
            HOME=str(self.root / "home"),
        )
        env.update(operator)
        return env

    def service(self, service: str, health_path: str | None, port_key: str | None, **operator: str) -> Service:
        env = self.env(service, **operator)
        command = [str(c) for c in compose()["services"][service]["command"]]
        health = f"http://127.0.0.1:{env[port_key]}{health_path}" if port_key and health_path else None
        return Service(service, command, env, self.root / "logs" / f"{service}.log", health)


@pytest.fixture
def databases() -> Iterator[dict[str, str]]:
    """compose's two databases, created fresh on the local server under this test's names."""
    names = {}
    for service, key in (("validator", "DOJO_VALIDATOR_DB_URL"), ("worker-api", "DOJO_WORKER_DB_URL")):
        db = make_url(compose_env(service)[key]).database
        assert db is not None
        names[db] = f"{db}_{uuid.uuid4().hex[:10]}"
    admin_dsn = f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as admin:
        for name in names.values():
            admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield names
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            for name in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_keys() -> Iterator[str]:
    prefix = f"dojo-deploy-test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    for db in range(16):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
        try:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def _pg(db: str) -> psycopg.Connection[Any]:
    return psycopg.connect(f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{db}", autocommit=True)


def _wait(what: str, check: Any, services: list[Service], timeout: float) -> Any:
    """Poll ``check`` until it returns something truthy; fail with the logs if a service dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        for svc in services:
            if svc.exit_code() is not None:
                pytest.fail(f"{svc.name} exited with {svc.exit_code()} while waiting for {what}:\n{svc.tail(40)}")
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {s.name}\n{s.tail(25)}" for s in services)
            pytest.fail(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.5)


def _keys_cli(env: dict[str, str], *args: str) -> str:
    """``dojo keys …`` as the README has the operator run it, in the miner's environment."""
    out = subprocess.run(
        [sys.executable, "-m", "dojo.cli.app", "keys", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout.strip()


def test_the_compose_topology_runs_a_round(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, databases: dict[str, str], redis_keys: str
) -> None:
    from dojo.chain import chain_params
    from dojo.chain.local import LocalChain
    from dojo.chain.wallets import create_wallet
    from dojo.config import load_settings
    from dojo.localnet.crews import Crew, ResaleBoard, make_brains
    from dojo.localnet.labellers import SimulatedLabeller
    from dojo.localnet.oracle import TruthOracle
    from dojo.localnet.skills import Skill
    from dojo.miner.keys_client import KeysClient

    for key in list(os.environ):  # nothing of this machine's Dojo settings leaks into the services
        if key.startswith("DOJO_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # no stray .env
    assert set(DOJO_SERVICES) <= set(compose()["services"])
    topo = Topology(tmp_path, databases, redis_keys)

    # the operator's wallets (names from the env files) and the chain they are registered on
    v_env, m_env = topo.env("validator"), topo.env("miner")
    settings = load_settings(profile="fast", chain__network="local", chain__netuid=int(v_env["DOJO_CHAIN_NETUID"]))
    chain = LocalChain(topo.chain_db, chain_params(settings))
    v = create_wallet(v_env["DOJO_WALLET_NAME"], v_env["DOJO_WALLET_HOTKEY"], topo.wallets)
    m = create_wallet(m_env["DOJO_WALLET_NAME"], m_env["DOJO_WALLET_HOTKEY"], topo.wallets)
    validator_uid = chain.register(v.hotkey.ss58_address, v.coldkeypub.ss58_address)
    chain.add_stake(v.hotkey.ss58_address, 10 * settings.chain.min_validator_stake)
    miner_uid = chain.register(m.hotkey.ss58_address, m.coldkeypub.ss58_address)

    worker_port = topo.port("worker-api", 8080)
    domain = f"127.0.0.1:{worker_port}"
    synthetic = topo.service("synthetic-api", "/health", "DOJO_SYNTHETIC_PORT")
    # the operator's edit: the host labellers open
    worker = topo.service("worker-api", "/health", "DOJO_WORKER_PORT", DOJO_WORKER_SIWE_DOMAIN=domain)
    services = [synthetic, worker]
    labellers: list[SimulatedLabeller] = []
    try:
        for svc in services:
            svc.start()
        for svc in services:
            svc.wait_healthy(120)

        # README: generate the miner's API key with the key CLI, in the miner's environment
        api_key = _keys_cli(
            m_env, "api-key", "generate", "--wallet", m_env["DOJO_WALLET_NAME"], "--hotkey", "default", "-q"
        )
        assert api_key and "\n" not in api_key
        with KeysClient(m_env["DOJO_MINER_WORKER_API_URL"], m.hotkey) as client:
            client.authenticate()
            subscription_key, _ = client.generate_key("subscription_key", name="crew")

        # the operator's edits of .env.miner: the public IP (here loopback) and the key
        miner = topo.service(
            "miner", "/health", "DOJO_MINER_PORT", DOJO_MINER_EXTERNAL_IP="127.0.0.1", DOJO_MINER_API_KEY=api_key
        )
        # healthy = its metrics listener answers (compose's healthcheck; the external API needs a token)
        validator = topo.service("validator", "/metrics", "DOJO_VALIDATOR_METRICS_PORT")
        services += [miner, validator]
        miner.start()
        miner.wait_healthy(120)
        validator.start()
        validator.wait_healthy(120)

        oracle = TruthOracle(f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{databases['dojo_validator']}")
        crews = [Crew.of([Skill.careful, Skill.careful])]
        for j, brain in enumerate(make_brains(crews, 0, oracle, ResaleBoard(), seed=7)):
            labellers.append(
                SimulatedLabeller(
                    name=f"careful-{j}",
                    brain=brain,
                    api_url=f"http://{domain}",
                    domain=domain,
                    chain_id=int(worker.env["DOJO_WORKER_SIWE_CHAIN_ID"]),
                    subscription_key=subscription_key,
                    seed=100 + j,
                )
            )
        stop = asyncio.Event()

        async def label() -> None:
            tasks = [asyncio.create_task(lab.run(stop)) for lab in labellers]
            try:
                await asyncio.to_thread(_wait_for_round, databases, services, chain, validator_uid, miner_uid)
            finally:
                stop.set()
                await asyncio.gather(*tasks)

        asyncio.run(label())
        oracle.close()
        assert sum(lab.submitted for lab in labellers) > 0

        # the worker API got the validator's feedback (labellers' grades) through the miner
        with _pg(databases["dojo_worker"]) as conn:
            assert conn.execute("SELECT COUNT(*) FROM labeller_grades").fetchone()[0] > 0  # type: ignore[index]
        # both schemas are migrated, each in its own database with its own version table
        versions = {}
        for db in databases.values():
            with _pg(db) as conn:
                versions[db] = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        assert all(versions.values()), versions

        for svc in reversed(services):
            assert svc.stop(30) == 0, f"{svc.name} did not stop cleanly:\n{svc.tail(30)}"
    finally:
        for svc in reversed(services):
            svc.stop(10)
        chain.close()

    # data under each service's volume, nothing in ~/.dojo
    assert (tmp_path / "worker-api" / "data" / "worker_jwt_secret").is_file()
    assert (tmp_path / "miner" / "data" / "miner.db").is_file()
    assert not (tmp_path / "home" / ".dojo").exists(), list((tmp_path / "home" / ".dojo").iterdir())


def _wait_for_round(
    databases: dict[str, str], services: list[Service], chain: Any, validator_uid: int, miner_uid: int
) -> None:
    vdb = databases["dojo_validator"]

    def fed_back() -> bool:
        try:
            with _pg(vdb) as conn:
                states = dict(conn.execute("SELECT state, COUNT(*) FROM tasks GROUP BY state").fetchall())
                scores = [s for (s,) in conn.execute("SELECT score FROM task_scores").fetchall()]
        except psycopg.errors.UndefinedTable:
            return False
        return states.get("fed_back", 0) > 0 and bool(scores) and max(scores) > 0

    _wait("a round labelled, scored and fed back", fed_back, services, 240)
    _wait(
        "weights on the chain",
        lambda: chain.weights().get(validator_uid, {}).get(miner_uid, 0.0) > 0,
        services,
        120,
    )
