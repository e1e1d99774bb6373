"""What each process of the local network runs: its ``dojo`` command line, environment, log file and health URL.

The network (:mod:`dojo.localnet.network`) decides when each starts; these functions only say
how, from the environment every child shares (:meth:`LocalNetwork.base_env`).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from dojo.localnet.processes import Service


def worker_api(name: str, port: int, home: Path, env: dict[str, str], logs: Path) -> Service:
    """A worker API on ``port`` with its own SQLite store and JWT secret, tuned for simulated labellers."""
    domain = f"127.0.0.1:{port}"
    return Service(
        name,
        ["worker-api", "--port", str(port)],
        {
            **env,
            "DOJO_WORKER_DB_URL": f"sqlite:///{home / (name + '.db')}",
            "DOJO_WORKER_JWT_SECRET": secrets.token_urlsafe(48),  # its own, not the one file in the shared home
            "DOJO_WORKER_SIWE_DOMAIN": domain,
            "DOJO_WORKER_MAX_RESULTS": "3",
            # every simulated labeller comes from 127.0.0.1 and polls often
            "DOJO_WORKER_RATE_LIMIT_LABELLER": "6000/minute",
            "DOJO_WORKER_RATE_LIMIT_IP": "60000/minute",
        },
        logs / f"{name}.log",
        f"http://{domain}/health",
    )


def synthetic_api(port: int, seed: int, env: dict[str, str], logs: Path) -> Service:
    """The synthetic API with the procedural generator (no model needed)."""
    return Service(
        "synthetic-api",
        ["synthetic-api", "--port", str(port), "--generator", "procedural", "--seed", str(seed)],
        env,
        logs / "synthetic-api.log",
        f"http://127.0.0.1:{port}/health",
    )


def miner(
    index: int, port: int, wallet_name: str, worker_url: str, api_key: str, env: dict[str, str], logs: Path
) -> Service:
    """Miner ``index``: its wallet, its worker API and the API key it made there."""
    return Service(
        f"miner-{index}",
        ["miner", "--port", str(port)],
        {
            **env,
            "DOJO_WALLET_NAME": wallet_name,
            "DOJO_WALLET_HOTKEY": "default",
            "DOJO_MINER_WORKER_API_URL": worker_url,
            "DOJO_MINER_API_KEY": api_key,
        },
        logs / f"miner-{index}.log",
        f"http://127.0.0.1:{port}/health",
    )


def validator(
    *,
    rounds: int | None,
    seed: int,
    tasks_per_round: int,
    synthetic_url: str,
    external_port: int,
    external_token: str,
    env: dict[str, str],
    logs: Path,
) -> Service:
    """The validator: ``rounds`` rounds (None: until stopped), tasks from the synthetic API, the external API on."""
    return Service(
        "validator" if rounds is not None else "validator-open",
        [
            "validator",
            *([] if rounds is None else ["--rounds", str(rounds)]),
            "--seed",
            str(seed),
            "--tasks-per-round",
            str(tasks_per_round),
            "--task-source",
            "api",
            "--synthetic-api-url",
            synthetic_url,
            "--external-api-port",
            str(external_port),
        ],
        {
            **env,
            "DOJO_WALLET_NAME": "validator",
            "DOJO_WALLET_HOTKEY": "default",
            "DOJO_VALIDATOR_EXTERNAL_API_TOKEN": external_token,
        },
        logs / "validator.log",
        f"http://127.0.0.1:{external_port}/health",
    )
