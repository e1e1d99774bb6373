"""What deploy/ says, read as an operator's tools read it: the compose file, the env files, the units.

The topology test turns the compose file into real processes on this machine. It takes every
Dojo service of ``deploy/docker-compose.yml`` with its command, its env file (the shipped
``deploy/.env.<role>.example``, which the README tells operators to copy) and its ``environment:``
(which wins over the env file, as in compose), and changes only what must differ on a test
machine: container host names and listen addresses become 127.0.0.1, ports become free ones,
the databases and data/wallet directories become the test's own, Redis keys get the test's prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
SYSTEMD = DEPLOY / "systemd"
DOJO_SERVICES = ("synthetic-api", "validator", "worker-api", "miner")

_INTERPOLATION = re.compile(r"\$\{([A-Z_]+)(?::-([^}]*))?\}")


def compose() -> dict[str, Any]:
    """The compose file as YAML (anchors resolved)."""
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}`` with every variable unset (the operator's defaults)."""
    return _INTERPOLATION.sub(lambda m: m.group(2) or "", value)


def env_file_of(service: str) -> Path:
    """The env file compose gives ``service`` (``deploy/.env.<role>``)."""
    env_file = compose()["services"][service]["env_file"]
    assert isinstance(env_file, str), f"{service}: one env file per role"
    return DEPLOY / env_file


def example_env(service: str) -> dict[str, str]:
    """The shipped example of ``service``'s env file, parsed the way docker and systemd read it."""
    path = Path(str(env_file_of(service)) + ".example")
    values = dotenv_values(path, interpolate=False)
    return {k: v if v is not None else "" for k, v in values.items()}


def compose_environment(service: str) -> dict[str, str]:
    """``environment:`` of ``service``, interpolated with defaults."""
    env = compose()["services"][service].get("environment") or {}
    return {str(k): interpolate(str(v)) for k, v in env.items()}


def compose_env(service: str) -> dict[str, str]:
    """What the container's process sees from compose: the env file, then ``environment:`` over it."""
    return {**example_env(service), **compose_environment(service)}


def volume_targets(service: str) -> dict[str, str]:
    """``{container path: source}`` of ``service``'s volumes."""
    out = {}
    for spec in compose()["services"][service].get("volumes") or []:
        parts = interpolate(spec).split(":")
        out[parts[1]] = parts[0]
    return out


@dataclass(frozen=True)
class Unit:
    """The keys of a systemd unit we rely on."""

    path: Path
    keys: dict[str, list[str]]

    def get(self, key: str) -> list[str]:
        return self.keys.get(key, [])


def read_unit(path: Path) -> Unit:
    keys: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        keys.setdefault(key.strip(), []).append(value.strip())
    return Unit(path, keys)
