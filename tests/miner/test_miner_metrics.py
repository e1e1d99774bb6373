"""The miner's Prometheus metrics: what validators asked, what the worker API did, who was refused and why."""

from __future__ import annotations

import signal

import httpx
from miner_helpers import make_task, raw_post
from prometheus_client.parser import text_string_to_metric_families
from test_miner_service import setup  # noqa: F401 - the fixture: wallets, a local chain, a fake worker API

from dojo.errors import Rejected
from dojo.miner.metrics import metrics_port, rejection_reason
from dojo.protocol import Empty, Feedback, HeartbeatReply, ResultsReply, TaskAccepted
from dojo.transport.client import SignedClient
from support import free_port, start_dojo, stop, wait_until


def values(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def metric(app_or_text: object, name: str, **labels: str) -> float:
    text = app_or_text if isinstance(app_or_text, str) else app_or_text.state.metrics.render().decode()  # type: ignore[attr-defined]
    return values(text).get((name, tuple(sorted(labels.items()))), 0.0)


def app_of(handle: object) -> object:
    return handle.server.server.config.app  # type: ignore[attr-defined]


async def test_calls_from_validators_are_counted(miner, keys, worker_state) -> None:
    app = app_of(miner)
    task = make_task(3)
    async with SignedClient(keys.validator, timeout=10) as client:
        await client.post(miner.url, miner.hotkey, "/v1/heartbeat", {}, HeartbeatReply)
        await client.post(miner.url, miner.hotkey, "/v1/tasks", task, TaskAccepted)
        await client.post(miner.url, miner.hotkey, "/v1/tasks", task, TaskAccepted)  # a retry: the same task
        await client.post(miner.url, miner.hotkey, f"/v1/tasks/{task.task_id}/results", {}, ResultsReply)
        fb = Feedback(score=0.75, ground_truth={r.completion_id: i for i, r in enumerate(task.responses)})
        await client.post(miner.url, miner.hotkey, f"/v1/tasks/{task.task_id}/feedback", fb, Empty)
    assert metric(app, "dojo_miner_heartbeats_total") == 1
    assert metric(app, "dojo_miner_tasks_received_total", outcome="new") == 1
    assert metric(app, "dojo_miner_tasks_received_total", outcome="repeated") == 1
    assert metric(app, "dojo_miner_results_served_total") == 1
    assert metric(app, "dojo_miner_feedback_received_total") == 1
    assert metric(app, "dojo_miner_last_score") == 0.75
    assert metric(app, "dojo_miner_signature_rejections_total", reason="bad_signature") == 0


def test_refused_requests_are_counted_by_reason(miner, keys) -> None:
    app = app_of(miner)
    assert raw_post(miner.url, "/v1/heartbeat", {}).status_code == 401  # unsigned
    # signed for another receiver
    assert (
        raw_post(miner.url, "/v1/heartbeat", {}, signer=keys.validator, receiver=keys.outsider.ss58_address).status_code
        == 401
    )
    # registered, but neither permit nor stake
    assert raw_post(miner.url, "/v1/heartbeat", {}, signer=keys.outsider, receiver=miner.hotkey).status_code == 403
    # not registered at all
    assert raw_post(miner.url, "/v1/heartbeat", {}, signer=keys.stranger, receiver=miner.hotkey).status_code == 403
    # the body was changed after signing
    from bittensor import http_auth

    headers = http_auth.sign(
        keys.validator, method="POST", path="/v1/heartbeat", body=b"{}", receiver_ss58=miner.hotkey
    )
    tampered = httpx.post(
        miner.url + "/v1/heartbeat", content=b'{"x":1}', headers={**headers, "content-type": "application/json"}
    )
    assert tampered.status_code == 401
    assert metric(app, "dojo_miner_signature_rejections_total", reason="unsigned") == 1
    assert metric(app, "dojo_miner_signature_rejections_total", reason="wrong_receiver") == 1
    assert metric(app, "dojo_miner_signature_rejections_total", reason="not_validator") == 1
    assert metric(app, "dojo_miner_signature_rejections_total", reason="not_registered") == 1
    assert metric(app, "dojo_miner_signature_rejections_total", reason="bad_signature") == 1


async def test_worker_api_errors_are_counted_by_operation_and_kind(start_miner, keys) -> None:
    miner = start_miner(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    app = app_of(miner)
    async with SignedClient(keys.validator, timeout=10) as client:
        hb = await client.post(miner.url, miner.hotkey, "/v1/heartbeat", {}, HeartbeatReply)
        assert hb.worker_api_ok is False
        try:
            await client.post(miner.url, miner.hotkey, "/v1/tasks", make_task(), TaskAccepted)
        except Rejected as exc:
            assert exc.status == 503
        else:
            raise AssertionError("a task was accepted with no worker API")
    assert metric(app, "dojo_miner_worker_api_errors_total", op="health", kind="unhealthy") == 1
    assert metric(app, "dojo_miner_worker_api_errors_total", op="create_task", kind="unavailable") == 1


def test_rejection_reasons_and_default_port() -> None:
    assert rejection_reason(401, "stale request: too old") == "stale"
    assert rejection_reason(401, "replayed request: seen") == "replayed"
    assert rejection_reason(413, "body of 99 bytes exceeds the limit") == "body"
    assert rejection_reason(503, "replay protection unavailable") == "unavailable"
    assert metrics_port(None, 8091) == 9091
    assert metrics_port(None, 65000) == 64000
    assert metrics_port(0, 8091) == 0  # off
    assert metrics_port(9999, 8091) == 9999


def test_a_running_miner_serves_metrics_on_loopback(setup) -> None:  # noqa: F811
    """``dojo miner`` as a process: /metrics on its own loopback port, not on the signed port."""
    env, port = dict(setup["env"]), setup["port"]
    mport = free_port()
    env["DOJO_MINER_METRICS_PORT"] = str(mport)
    log_path = setup["tmp"] / "miner.log"
    proc = start_dojo(["miner"], env, log_path)
    try:
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200,
            timeout=30,
            what="miner up",
        )
        text = wait_until(
            lambda: (r := httpx.get(f"http://127.0.0.1:{mport}/metrics", timeout=2)).status_code == 200 and r.text,
            timeout=15,
            what="metrics up",
        )
        assert metric(text, "dojo_miner_spec_version") > 0
        assert "dojo_miner_signature_rejections_total" in text
        # the signed port does not serve them
        assert httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 404
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        stop(proc)
    log = log_path.read_text()
    assert f"url=http://127.0.0.1:{mport}/metrics" in log


async def test_a_validator_running_newer_code_makes_the_miner_warn(miner, keys, monkeypatch, caplog) -> None:
    """Every signed request names the caller's release; a newer one than the miner's is flagged once."""
    import dojo.transport.client as transport_client
    from dojo import __spec_version__
    from dojo.versions import release_of

    app = app_of(miner)
    async with SignedClient(keys.validator, timeout=10) as client:
        await client.post(miner.url, miner.hotkey, "/v1/heartbeat", {}, HeartbeatReply)
        assert metric(app, "dojo_miner_newest_validator_spec_version") == __spec_version__
        assert metric(app, "dojo_miner_outdated_vs_validators") == 0
        newer = release_of(__spec_version__ + 1)
        monkeypatch.setattr(transport_client, "__version__", newer)
        with caplog.at_level("WARNING"):
            await client.post(miner.url, miner.hotkey, "/v1/heartbeat", {}, HeartbeatReply)
            await client.post(miner.url, miner.hotkey, "/v1/heartbeat", {}, HeartbeatReply)
    assert metric(app, "dojo_miner_newest_validator_spec_version") == __spec_version__ + 1
    assert metric(app, "dojo_miner_outdated_vs_validators") == 1
    warnings = [r for r in caplog.records if r.getMessage() == "version.outdated"]
    assert len(warnings) == 1 and warnings[0].fields["validator_version"] == newer  # type: ignore[attr-defined]
