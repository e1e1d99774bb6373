"""The Grafana dashboard in deploy/ asks only for metrics the services really expose, and promtool accepts them.

Each service's /metrics is read over HTTP from a running instance: the validator after a round
(served by its loopback listener), a miner's registry through the same listener, and the worker
API and the synthetic API from their own apps.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from bittensor.sp_core import Keypair
from prometheus_client.parser import text_string_to_metric_families

from dojo.config import load_settings
from dojo.metrics_http import serve_metrics
from support import free_port, serving_at

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dojo-subnet.json"
SCRAPE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"), "gauge": ()}


def dashboard_metrics() -> dict[str, set[str]]:
    """Every ``dojo_*`` metric name the dashboard's queries use, by the panel that uses it."""
    found: dict[str, set[str]] = {}

    def walk(panels: list[dict]) -> None:
        for p in panels:
            walk(p.get("panels", []))
            for t in p.get("targets", []):
                for name in re.findall(r"\b(dojo_[a-z0-9_]+)\b", t.get("expr", "")):
                    found.setdefault(name, set()).add(p["title"])

    walk(json.loads(DASHBOARD.read_text())["panels"])
    return found


def exposed(text: str) -> set[str]:
    """The series names an exposition offers to queries (a counter ``x`` is queried as ``x_total``)."""
    names: set[str] = set()
    for fam in text_string_to_metric_families(text):
        names.add(fam.name)
        names.update(fam.name + s for s in SUFFIXES.get(fam.type, ()))
        names.update(s.name for s in fam.samples)
    return names


def promtool_check(service: str, text: str) -> None:
    """``promtool check metrics`` on one exposition; when promtool is missing, say so (make test installs it)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        reason = (
            f"promtool is not installed: the promtool lint of the {service} metrics did not run "
            "(`make test` installs it with scripts/install-promtool.sh); the metric-name checks still ran"
        )
        print(reason)
        warnings.warn(reason, stacklevel=2)
        return
    done = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"promtool check metrics failed on the {service} metrics:\n{done.stdout}{done.stderr}"


def scrape(url: str) -> str:
    reply = httpx.get(url, timeout=10)
    assert reply.status_code == 200, f"GET {url}: {reply.status_code}"
    assert reply.headers["content-type"].startswith("text/plain"), reply.headers["content-type"]
    return reply.text


@pytest.fixture
def validator_metrics(make_engine) -> Iterator[str]:
    """A validator that ran a round with good, bad and dead miners and set weights, scraped over HTTP."""
    import asyncio

    async def one_round() -> object:
        engine, _, _, clock = make_engine(["good", "reverse", "down", "garbage"], tasks_per_round=2)
        engine.wallet = object()
        await engine.refresh_miners()
        await engine.start_round()
        await engine.dispatch()
        clock.advance(61)
        await engine.collect()
        await engine.score()
        await engine.feedback()
        assert await engine.set_weights(force=True)
        return engine

    engine = asyncio.run(one_round())
    server = serve_metrics(engine.metrics.registry, "127.0.0.1", free_port(), "validator")  # type: ignore[attr-defined]
    assert server is not None
    try:
        yield scrape(server.url)
    finally:
        server.close()


@pytest.fixture
def miner_metrics(tmp_home: Path) -> Iterator[str]:
    """A miner app's metrics, served by the miner's loopback listener."""
    from dojo.chain.local import LocalChain
    from dojo.miner.app import create_app
    from dojo.miner.worker_client import WorkerApiClient

    settings = load_settings(profile="fast")
    chain = LocalChain(settings.chain_db_path())
    worker = WorkerApiClient(f"http://127.0.0.1:{free_port()}", "k" * 24)
    app = create_app(settings, SimpleNamespace(hotkey=Keypair.create_from_uri("//dash-miner")), chain, worker)
    server = serve_metrics(app.state.metrics.registry, "127.0.0.1", free_port(), "miner")
    assert server is not None
    try:
        yield scrape(server.url)
    finally:
        server.close()
        chain.close()


def test_every_dashboard_metric_exists_on_a_running_service(validator_metrics, miner_metrics, tmp_home) -> None:
    from dojo.synthetic.service.app import create_app as synthetic_app
    from dojo.worker_api.app import create_app as worker_app

    settings = load_settings(profile="fast", synthetic__generator="procedural")
    texts = {"validator": validator_metrics, "miner": miner_metrics}
    with serving_at(worker_app(settings)) as url:
        httpx.get(f"{url}/health", timeout=10)  # at least one request, so request series exist
        texts["worker API"] = scrape(f"{url}/metrics")
    from starlette.testclient import TestClient  # the synthetic API without its filler: nothing to generate here

    texts["synthetic API"] = TestClient(synthetic_app(settings)).get("/metrics").text

    available: set[str] = set()
    for service, text in texts.items():
        names = exposed(text)
        assert names, f"the {service} exposes no metrics"
        available |= names
        promtool_check(service, text)

    used = dashboard_metrics()
    assert len(used) >= 30, f"the dashboard uses only {len(used)} dojo metrics"
    missing = {name: sorted(panels) for name, panels in used.items() if name not in available}
    assert not missing, f"the dashboard queries metrics no service exposes: {missing}"
    # each service has its own part of the dashboard
    for prefix in ("dojo_validator_", "dojo_miner_", "dojo_worker_", "dojo_synthetic_"):
        assert any(n.startswith(prefix) for n in used), f"no panel uses {prefix}* metrics"


def test_the_validator_exposes_what_an_operator_watches(validator_metrics) -> None:
    """A round with a good, a reversed, a dead and a garbage miner shows up in the counters."""
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(validator_metrics)
        for s in fam.samples
    }

    def v(name: str, **labels: str) -> float:
        return values.get((name, tuple(sorted(labels.items()))), 0.0)

    assert v("dojo_validator_rounds_total", event="created") == 1
    assert v("dojo_validator_rounds_total", event="scored") == 1
    assert v("dojo_validator_miners_active") == 3  # the dead one does not answer the heartbeat
    assert v("dojo_validator_miners_candidates") == 4
    assert v("dojo_validator_tasks_dispatched_total", outcome="accepted") == 6  # 3 active miners × 2 tasks
    assert v("dojo_validator_tasks_collected_total", outcome="labelled") == 4  # the good and the reversed miner
    # the garbage miner's copies: a bad reply (a call error) or answers that are all unusable (empty)
    failed = v("dojo_validator_tasks_collected_total", outcome="failed")
    assert failed + v("dojo_validator_tasks_collected_total", outcome="empty") == 2
    assert v("dojo_validator_miner_call_errors_total", uid="4", call="collect", kind="bad_reply") == failed
    assert v("dojo_validator_miner_call_errors_total", uid="3", call="heartbeat", kind="unreachable") == 1
    assert v("dojo_validator_tasks_scored_total", outcome="above_chance") == 2
    assert v("dojo_validator_tasks_scored_total", outcome="below_chance") == 2
    assert v("dojo_validator_tasks_scored_total", outcome="chance") == 2
    assert v("dojo_validator_weights_set_total", status="ok") == 1
    assert v("dojo_validator_last_weights_block") == 100
    assert v("dojo_validator_scoring_seconds_count") == 1
    assert v("dojo_validator_feedback_total", outcome="delivered") == 6


def test_the_scrape_config_targets_the_default_ports() -> None:
    """deploy/prometheus/prometheus.yml scrapes every service where the defaults put its /metrics."""
    from dojo.config import MinerSettings, ValidatorSettings
    from dojo.miner.metrics import metrics_port

    text = SCRAPE.read_text()
    s = load_settings()
    for job, target in {
        "dojo-validator": f"127.0.0.1:{ValidatorSettings().metrics_port}",
        "dojo-miner": f"127.0.0.1:{metrics_port(MinerSettings().metrics_port, s.miner.port)}",
        "dojo-worker-api": f"127.0.0.1:{s.worker.port}",
        "dojo-synthetic-api": f"127.0.0.1:{s.synthetic.port}",
    }.items():
        assert re.search(rf"job_name: {job}\n\s+static_configs:\n\s+- targets: \[\"{re.escape(target)}\"\]", text), job
    promtool = shutil.which("promtool")
    if promtool is None:
        print("promtool is not installed: `promtool check config` did not run (make test installs it)")
        return
    done = subprocess.run([promtool, "check", "config", str(SCRAPE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
