"""The miner's Prometheus metrics (a registry per app) and the checks that feed them.

Served on their own loopback listener (``DOJO_MINER_METRICS_HOST`` / ``_PORT``), never on the
signed port that validators call. Names are the contract with ``deploy/grafana/dojo-subnet.json``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from dojo import __spec_version__, __version__
from dojo.errors import ChainError
from dojo.logs import log
from dojo.versions import spec_of

logger = logging.getLogger(__name__)

#: signature and caller checks a request can fail (``ValidatorGate``), by the start of its reason
_REJECTIONS: tuple[tuple[str, str], ...] = (
    ("unsigned request", "unsigned"),
    ("malformed", "malformed"),
    ("wrong receiver", "wrong_receiver"),
    ("stale request", "stale"),
    ("bad signature", "bad_signature"),
    ("replayed request", "replayed"),
)
WORKER_API_ERRORS = ("unavailable", "rejected", "bad_reply", "unhealthy")


def rejection_reason(status: int, detail: str) -> str:
    """A short, stable reason for a request the gate refused (HTTP status and its detail)."""
    text = detail.lower()
    if status == 401:
        for prefix, reason in _REJECTIONS:
            if text.startswith(prefix):
                return reason
        return "auth_failed"
    if status == 403:
        return "not_registered" if "not registered" in text else "not_validator"
    if status in (400, 411, 413):
        return "body"
    if status == 503:
        return "unavailable"
    return f"http_{status}"


def metrics_port(configured: int | None, miner_port: int) -> int:
    """The metrics port: the configured one, else the miner's port + 1000 (− 1000 near the top of the range)."""
    if configured is not None:
        return configured
    if miner_port == 0:
        return 0
    return miner_port + 1000 if miner_port + 1000 <= 65535 else miner_port - 1000


class MinerMetrics:
    """Counters and gauges of one miner."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.heartbeats = Counter("dojo_miner_heartbeats", "Heartbeats answered", registry=r)
        self.tasks_received = Counter(
            "dojo_miner_tasks_received", "Tasks from validators, by outcome: new, repeated", ["outcome"], registry=r
        )
        self.results_served = Counter("dojo_miner_results_served", "Results requests answered", registry=r)
        self.labels_served = Counter(
            "dojo_miner_labeller_results_served", "Labeller results returned to validators", registry=r
        )
        self.feedback = Counter("dojo_miner_feedback_received", "Feedback forwarded to the worker API", registry=r)
        self.last_score = Gauge("dojo_miner_last_score", "The last task score a validator sent back", registry=r)
        self.worker_api_errors = Counter(
            "dojo_miner_worker_api_errors",
            "Failed worker API calls, by operation and kind: unavailable, rejected, bad_reply, unhealthy",
            ["op", "kind"],
            registry=r,
        )
        self.rejections = Counter(
            "dojo_miner_signature_rejections",
            "Requests refused before a handler ran, by reason",
            ["reason"],
            registry=r,
        )
        self.spec_version = Gauge("dojo_miner_spec_version", "This miner's spec version", registry=r)
        self.required_spec_version = Gauge(
            "dojo_miner_required_spec_version", "The chain's required weights version (0: none)", registry=r
        )
        self.outdated = Gauge(
            "dojo_miner_outdated", "1 when the chain expects a newer spec version than this miner's", registry=r
        )
        self.newest_peer_spec_version = Gauge(
            "dojo_miner_newest_validator_spec_version",
            "The newest spec version a validator's requests reported (0: none yet)",
            registry=r,
        )
        self.peer_outdated = Gauge(
            "dojo_miner_outdated_vs_validators",
            "1 when a validator runs a newer spec version than this miner",
            registry=r,
        )
        self.newest_peer = 0  # the newest spec version a validator reported, mirrored in the gauge above
        self.spec_version.set(__spec_version__)
        for outcome in ("new", "repeated"):
            self.tasks_received.labels(outcome)
        for reason in [r for _, r in _REJECTIONS] + ["not_registered", "not_validator"]:
            self.rejections.labels(reason)

    def render(self) -> bytes:
        """The exposition text (what ``/metrics`` serves)."""
        return generate_latest(self.registry)

    def rejected(self, status: int, detail: str) -> str:
        """Count one refused request; returns its reason."""
        reason = rejection_reason(status, detail)
        self.rejections.labels(reason).inc()
        return reason


async def check_chain_version(chain: Any, metrics: MinerMetrics, last: int | None = None) -> int | None:
    """Compare the chain's required weights version with this miner's; warn when the chain's is newer.

    Returns the required version read (or ``last`` when the chain could not say). Logs only when
    the required version changes, so a periodic check does not repeat itself.
    """
    read = getattr(chain, "weights_version", None)
    if read is None:
        return last
    try:
        required = int(await asyncio.to_thread(read))
    except ChainError as exc:
        log(logger, "version.unknown", level=logging.WARNING, error=str(exc)[:300])
        return last
    metrics.required_spec_version.set(required)
    newer = required > __spec_version__
    metrics.outdated.set(1 if newer else 0)
    if newer and required != last:
        log(
            logger,
            "version.outdated",
            level=logging.WARNING,
            version=__version__,
            spec_version=__spec_version__,
            chain_requires=required,
            hint="the subnet requires a newer Dojo: update (git pull && pip install -e .) and restart",
        )
    return required


def check_peer_version(metrics: MinerMetrics, reported: str | None, caller: str) -> bool:
    """Note the release a validator's request reported; warn (log + metric) the first time it is newer.

    Returns True when this call raised the newest version seen. ``reported`` is the request's
    ``x-dojo-version`` header (absent from older validators: nothing to compare).
    """
    spec = spec_of(reported or "")
    if spec is None or spec <= metrics.newest_peer:
        return False
    metrics.newest_peer = spec
    metrics.newest_peer_spec_version.set(spec)
    if spec > __spec_version__:
        metrics.peer_outdated.set(1)
        log(
            logger,
            "version.outdated",
            level=logging.WARNING,
            version=__version__,
            spec_version=__spec_version__,
            validator=caller,
            validator_version=reported,
            hint="a validator runs a newer Dojo: update (git pull && pip install -e .) and restart",
        )
    return True
