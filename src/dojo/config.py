"""One settings tree for every Dojo process.

Precedence: command-line flags (passed as keyword overrides) > environment (``DOJO_…``) >
a ``.env`` file in the working directory > defaults. Each section reads its own prefix, so
``DOJO_WORKER_DB_URL`` sets ``settings.worker.db_url`` and ``DOJO_CHAIN_NETWORK`` sets
``settings.chain.network``.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Profile(str, Enum):
    """Timing profiles: ``prod`` for real networks, ``fast`` for the local network and tests."""

    prod = "prod"
    fast = "fast"


class Timings(BaseModel):
    """Every interval of the task life cycle, in seconds unless named in blocks."""

    task_deadline_s: float
    dispatch_interval_s: float
    collect_interval_s: float
    scoring_interval_s: float
    heartbeat_interval_s: float
    epoch_blocks: int
    weights_rate_limit_blocks: int
    block_time_s: float
    request_timeout_s: float
    expiry_sweep_s: float
    collect_grace_s: float  # an unreachable miner is asked again for its results until this long after the deadline
    retry_backoff_s: float  # first wait before asking an unreachable miner again (collect, feedback); doubles


PROFILES: dict[Profile, Timings] = {
    Profile.prod: Timings(
        task_deadline_s=3600,
        dispatch_interval_s=900,
        collect_interval_s=300,
        scoring_interval_s=1800,
        heartbeat_interval_s=120,
        epoch_blocks=100,
        weights_rate_limit_blocks=100,
        block_time_s=12.0,
        request_timeout_s=12.0,
        expiry_sweep_s=60,
        collect_grace_s=900,
        retry_backoff_s=60,
    ),
    Profile.fast: Timings(
        task_deadline_s=20,
        dispatch_interval_s=4,
        collect_interval_s=2,
        scoring_interval_s=5,
        heartbeat_interval_s=3,
        epoch_blocks=10,
        weights_rate_limit_blocks=2,
        block_time_s=0.5,
        request_timeout_s=5.0,
        expiry_sweep_s=1,
        collect_grace_s=15,
        retry_backoff_s=1,
    ),
}


def default_home() -> Path:
    """The data directory: ``$DOJO_HOME`` or ``~/.dojo``."""
    return Path(os.environ.get("DOJO_HOME") or Path.home() / ".dojo").expanduser()


def _section(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, env_file=".env", extra="ignore", case_sensitive=False, populate_by_name=True
    )


class TimingOverrides(BaseSettings):
    """Optional per-timing overrides of the profile (``DOJO_TIMING_TASK_DEADLINE_S=30``)."""

    model_config = _section("DOJO_TIMING_")

    task_deadline_s: float | None = None
    dispatch_interval_s: float | None = None
    collect_interval_s: float | None = None
    scoring_interval_s: float | None = None
    heartbeat_interval_s: float | None = None
    epoch_blocks: int | None = None
    weights_rate_limit_blocks: int | None = None
    block_time_s: float | None = None
    request_timeout_s: float | None = None
    expiry_sweep_s: float | None = None
    collect_grace_s: float | None = None
    retry_backoff_s: float | None = None


class WalletSettings(BaseSettings):
    """Which bittensor wallet this process signs with."""

    model_config = _section("DOJO_WALLET_")

    name: str = "default"
    hotkey: str = "default"
    path: Path = Field(default_factory=lambda: Path("~/.bittensor/wallets").expanduser())

    @field_validator("path", mode="after")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return v.expanduser()


class ChainSettings(BaseSettings):
    """Which chain: ``local`` (embedded ledger) or a bittensor network (finney, test, ws://…)."""

    model_config = _section("DOJO_CHAIN_")

    network: str = "local"
    netuid: int = 1
    local_db: Path | None = None  # default: <home>/chain.db
    min_validator_stake: float = 1000.0
    max_weight: float = 1.0
    emission_per_epoch: float = 1.0
    max_validators: int = 64  # local chain: validator permits for the top-k staked
    max_uids: int = 256  # local chain: registrations refused beyond this


class TransportSettings(BaseSettings):
    """Signed validator ↔ miner HTTP."""

    model_config = _section("DOJO_TRANSPORT_")

    request_timeout_s: float | None = None  # default: the profile's
    max_body_bytes: int = 16 * 1024 * 1024
    max_concurrency: int = 256
    metagraph_cache_s: float = 12.0  # how long a miner trusts one metagraph snapshot
    nonce_prefix: str = "dojo:nonce:"  # Redis key prefix of seen btauth nonces (when DOJO_REDIS_URL is set)


class WorkerApiSettings(BaseSettings):
    """The labelling backend and its web UI."""

    model_config = _section("DOJO_WORKER_")

    host: str = "127.0.0.1"
    port: int = 8080
    db_url: str | None = None  # default: sqlite file <home>/worker.db
    jwt_secret: str | None = None  # default: generated once and kept in <home>
    jwt_ttl_s: int = 24 * 3600
    siwe_domain: str = ""  # SIWE messages must name this host[:port]; "" = the loopback host:port reached
    siwe_chain_id: int = 1
    nonce_ttl_s: int = 300
    max_results: int = 3
    rate_limit_labeller: str = "120/minute"
    rate_limit_ip: str = "600/minute"
    redis_prefix: str = "dojo:worker:"  # key prefix of nonces and rate-limit counters in Redis
    trusted_proxies: str = ""  # comma-separated IPs/CIDRs whose X-Forwarded-For gives the client IP (rate limits)


class MinerSettings(BaseSettings):
    """The miner's signed endpoints and its worker API."""

    model_config = _section("DOJO_MINER_")

    host: str = "127.0.0.1"
    port: int = 8091
    external_ip: str | None = None  # published on the chain; default: host
    worker_api_url: str = "http://127.0.0.1:8080"
    api_key: str | None = None
    worker_api_timeout_s: float = 5.0  # per request to the worker API
    worker_api_attempts: int = 3  # tries per request (connection errors and 5xx only)
    metrics_host: str = "127.0.0.1"  # Prometheus /metrics listener (loopback: the miner's own port faces the internet)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)  # default: the miner's port + 1000; 0 = off


class ValidatorSettings(BaseSettings):
    """The validator's loops, its store and its external-task API."""

    model_config = _section("DOJO_VALIDATOR_")

    db_url: str | None = None  # default: sqlite file <home>/validator.db
    synthetic_api_url: str | None = "http://127.0.0.1:5003"
    responses_per_task: int = 4
    tasks_per_round: int = 1
    ema_alpha: float | None = None  # running scores' decay per round; default dojo.scoring.ALPHA
    external_api_host: str = "127.0.0.1"
    external_api_port: int = 1888
    external_api_token: str | None = None
    external_api_max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)  # larger bodies get 413 unread
    metrics_host: str = "127.0.0.1"  # Prometheus /metrics listener
    metrics_port: int = Field(default=9188, ge=0, le=65535)  # 0 = off
    task_source: str = "api"  # api (the synthetic API) | procedural (in-process generator)
    seed: int | None = None  # makes task choice, shuffles and ids reproducible (tests, local networks)
    max_labellers: int = 3  # labeller answers kept per miner and task
    feedback_attempts: int = 8  # deliveries tried per copy, spaced by timing.retry_backoff_s doubling each time
    # most of a miner's tasks that may be external (shared, no ground truth), over a rolling window of rounds
    external_max_share: float = Field(default=0.2, ge=0.0, le=1.0)


class SyntheticSettings(BaseSettings):
    """The synthetic-task service and its generators."""

    model_config = _section("DOJO_SYNTHETIC_")

    host: str = "127.0.0.1"
    port: int = 5003
    generator: str = "auto"  # auto | procedural | llm
    buffer_size: int = 16
    llm_base_url: str = "https://openrouter.ai/api/v1"
    llm_api_key: str | None = None
    llm_model: str = "openai/gpt-4o-mini"
    llm_timeout_s: float = 120.0
    seed: int | None = None
    llm_max_attempts: int = 3  # per chat call: timeouts, 429, 5xx and malformed JSON are retried with backoff
    llm_backoff_s: float = 2.0  # first retry delay; doubles each attempt
    llm_input_usd_per_mtok: float = 0.15  # prices for cost accounting (USD per million tokens)
    llm_output_usd_per_mtok: float = 0.60
    llm_temperature: float = 0.7
    redis_key: str = "dojo:synthetic:tasks"  # the Redis list holding the buffer when DOJO_REDIS_URL is set
    fill_workers: int = 1  # tasks generated concurrently to refill the buffer


class Settings(BaseSettings):
    """The whole tree. Build it with :func:`load_settings` to apply flag overrides."""

    model_config = _section("DOJO_")

    home: Path = Field(default_factory=default_home)
    profile: Profile = Profile.prod
    redis_url: str | None = None
    log_level: str = "INFO"
    log_json: bool = False

    timing_overrides: TimingOverrides = Field(default_factory=TimingOverrides)
    wallet: WalletSettings = Field(default_factory=WalletSettings)
    chain: ChainSettings = Field(default_factory=ChainSettings)
    transport: TransportSettings = Field(default_factory=TransportSettings)
    worker: WorkerApiSettings = Field(default_factory=WorkerApiSettings)
    miner: MinerSettings = Field(default_factory=MinerSettings)
    validator: ValidatorSettings = Field(default_factory=ValidatorSettings)
    synthetic: SyntheticSettings = Field(default_factory=SyntheticSettings)

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, v: Path) -> Path:
        return v.expanduser()

    @property
    def timings(self) -> Timings:
        """The profile's timings with any ``DOJO_TIMING_…`` overrides applied."""
        base = PROFILES[self.profile].model_dump()
        base.update({k: v for k, v in self.timing_overrides.model_dump().items() if v is not None})
        return Timings(**base)

    def chain_db_path(self) -> Path:
        return self.chain.local_db or self.home / "chain.db"

    def worker_db_url(self) -> str:
        return self.worker.db_url or f"sqlite:///{self.home / 'worker.db'}"

    def validator_db_url(self) -> str:
        return self.validator.db_url or f"sqlite:///{self.home / 'validator.db'}"


_SECTIONS: dict[str, type[BaseSettings]] = {
    "timing_overrides": TimingOverrides,
    "wallet": WalletSettings,
    "chain": ChainSettings,
    "transport": TransportSettings,
    "worker": WorkerApiSettings,
    "miner": MinerSettings,
    "validator": ValidatorSettings,
    "synthetic": SyntheticSettings,
}


def load_settings(**overrides: Any) -> Settings:
    """Read the tree, with flags as overrides: ``load_settings(profile="fast", chain__network="test")``.

    A key ``section__field`` overrides one field of a section; ``None`` values are ignored so
    that unset CLI options fall through to the environment.
    """
    top: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        if "__" in key:
            section, field = key.split("__", 1)
            if section not in _SECTIONS:
                raise ValueError(f"unknown settings section {section!r}")
            nested.setdefault(section, {})[field] = value
        else:
            top[key] = value
    for section, fields in nested.items():
        top[section] = _SECTIONS[section](**fields)
    return Settings(**top)
