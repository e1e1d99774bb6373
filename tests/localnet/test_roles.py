"""Each local-network process's command line and environment (no process is started here)."""

from __future__ import annotations

from pathlib import Path

from dojo.localnet import roles


def test_every_worker_api_has_its_own_store_and_secret(tmp_path: Path) -> None:
    a = roles.worker_api("worker-api-0", 8001, tmp_path, {"DOJO_HOME": "h"}, tmp_path / "logs")
    b = roles.worker_api("worker-api-1", 8002, tmp_path, {"DOJO_HOME": "h"}, tmp_path / "logs")
    assert a.env["DOJO_WORKER_DB_URL"] == f"sqlite:///{tmp_path / 'worker-api-0.db'}"
    assert a.env["DOJO_WORKER_JWT_SECRET"] != b.env["DOJO_WORKER_JWT_SECRET"]
    assert a.env["DOJO_WORKER_SIWE_DOMAIN"] == "127.0.0.1:8001" and a.health_url == "http://127.0.0.1:8001/health"
    assert a.env["DOJO_HOME"] == "h" and a.log_path == tmp_path / "logs" / "worker-api-0.log"


def test_the_validator_runs_a_number_of_rounds_or_until_stopped(tmp_path: Path) -> None:
    common = dict(
        seed=3,
        tasks_per_round=2,
        synthetic_url="http://127.0.0.1:7000",
        external_port=7001,
        external_token="tok",
        env={},
        logs=tmp_path,
    )
    counted = roles.validator(rounds=4, **common)  # type: ignore[arg-type]
    open_ended = roles.validator(rounds=None, **common)  # type: ignore[arg-type]
    assert counted.name == "validator" and counted.args[:3] == ["validator", "--rounds", "4"]
    assert open_ended.name == "validator-open" and "--rounds" not in open_ended.args
    assert open_ended.args[open_ended.args.index("--synthetic-api-url") + 1] == "http://127.0.0.1:7000"
    assert counted.env["DOJO_VALIDATOR_EXTERNAL_API_TOKEN"] == "tok"
    assert counted.health_url == "http://127.0.0.1:7001/health"


def test_a_miner_uses_the_key_it_made_on_its_worker_api(tmp_path: Path) -> None:
    m = roles.miner(2, 9002, "miner2", "http://127.0.0.1:8001", "key-2", {"DOJO_PROFILE": "fast"}, tmp_path)
    assert m.name == "miner-2" and m.args == ["miner", "--port", "9002"]
    assert (m.env["DOJO_WALLET_NAME"], m.env["DOJO_MINER_WORKER_API_URL"], m.env["DOJO_MINER_API_KEY"]) == (
        "miner2",
        "http://127.0.0.1:8001",
        "key-2",
    )
