"""Crash safety: `dojo validator` is SIGKILLed at random points of its rounds and restarted; in the end
every dispatched task is scored exactly once, no result is lost, and running scores equal an
uninterrupted run with the same seed. The miners are fake but real HTTP (btauth/1 verified)."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from bittensor.keyfiles import Keypair
from http_miners import MinerFleet

from dojo.chain.local import ChainParams, LocalChain
from dojo.chain.wallets import create_wallet
from dojo.config import load_settings
from dojo.validator.service import run_validator
from dojo.validator.store.models import Assignment, Result, Round, Task, TaskScore
from dojo.validator.store.repo import ValidatorStore
from support import start_dojo, stop, wait_until

ROUNDS = 3
KILLS = 4


def _env(home: Path, chain_db: Path, wallets: Path) -> dict[str, str]:
    return {
        "DOJO_HOME": str(home),
        "DOJO_PROFILE": "fast",
        "DOJO_CHAIN_NETWORK": "local",
        "DOJO_CHAIN_LOCAL_DB": str(chain_db),
        "DOJO_WALLET_NAME": "val",
        "DOJO_WALLET_HOTKEY": "hot",
        "DOJO_WALLET_PATH": str(wallets),
        "DOJO_VALIDATOR_TASK_SOURCE": "procedural",
        "DOJO_VALIDATOR_SEED": "20261124",
        "DOJO_VALIDATOR_TASKS_PER_ROUND": "2",
        "DOJO_VALIDATOR_EXTERNAL_API_TOKEN": "",
        "DOJO_TIMING_TASK_DEADLINE_S": "1.5",
        "DOJO_TIMING_DISPATCH_INTERVAL_S": "0.4",
        "DOJO_TIMING_COLLECT_INTERVAL_S": "0.2",
        "DOJO_TIMING_SCORING_INTERVAL_S": "0.2",
        "DOJO_TIMING_HEARTBEAT_INTERVAL_S": "1",
        "DOJO_TIMING_BLOCK_TIME_S": "0.2",
        "DOJO_TIMING_REQUEST_TIMEOUT_S": "10",  # a loaded machine must not turn a slow reply into a lost result
    }


def _snapshot(db_url: str) -> dict[str, object]:
    store = ValidatorStore(db_url)
    try:
        with store.transaction() as s:
            tasks = {t.id: t.state for t in s.scalars(sa.select(Task)).all()}
            sent = s.scalars(sa.select(Assignment).where(Assignment.state != "planned")).all()
            scores = {(r.task_id, r.hotkey): r.score for r in s.scalars(sa.select(TaskScore)).all()}
            n_scores = s.scalar(sa.select(sa.func.count()).select_from(TaskScore))
            results = sorted(
                (a.task_id, a.hotkey, r.labeller_id, r.completion_id, r.value)
                for r, a in s.execute(sa.select(Result, Assignment).join(Assignment)).all()
            )
            rounds = [(r.id, r.state) for r in s.scalars(sa.select(Round).order_by(Round.id)).all()]
            sent_keys = sorted((a.task_id, a.hotkey) for a in sent)
        return {
            "tasks": tasks,
            "scores": scores,
            "n_scores": n_scores,
            "results": results,
            "rounds": rounds,
            "sent": sent_keys,
            "running": store.running_scores(),
            "counts": store.task_counts(),
        }
    finally:
        store.dispose()


@pytest.mark.e2e
def test_sigkill_at_random_points_loses_nothing(
    tmp_path: Path, tmp_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wallets = tmp_path / "wallets"
    wallet = create_wallet("val", "hot", wallets)
    chain_db = tmp_path / "chain.db"
    chain = LocalChain(chain_db, ChainParams(block_time_s=0.2, epoch_blocks=10, weights_rate_limit=2))
    chain.register(wallet.hotkey.ss58_address, wallet.coldkeypub.ss58_address)
    chain.add_stake(wallet.hotkey.ss58_address, 5000.0)
    keys = [Keypair.create_from_uri(f"//crash-miner-{i}") for i in range(3)]
    with MinerFleet([(k.ss58_address, "hash") for k in keys]) as fleet:
        for i, k in enumerate(keys):
            chain.register(k.ss58_address, k.ss58_address)
            chain.publish_address(k.ss58_address, "127.0.0.1", fleet.ports[i])

        # the reference: one uninterrupted run, in this process (the same code as the command runs)
        home_a = tmp_path / "a"
        for key, value in _env(home_a, chain_db, wallets).items():
            monkeypatch.setenv(key, value)
        asyncio.run(asyncio.wait_for(run_validator(load_settings(), max_rounds=ROUNDS), 90))
        ref = _snapshot(f"sqlite:///{home_a / 'validator.db'}")
        bodies = [(st.hotkey, path, body) for st in fleet.states for path, body, _ in st.requests]
        for st in fleet.states:  # the second run starts with miners that forgot everything
            st.requests.clear()
            st.tasks.clear()
            st.feedback.clear()

        # the same run, killed again and again
        home_b = tmp_path / "b"
        rng = random.Random(7)
        interrupted = []
        for k in range(KILLS):
            log_path = tmp_path / f"b{k}.log"
            proc = start_dojo(["validator", "--rounds", str(ROUNDS)], _env(home_b, chain_db, wallets), log_path)
            # a random point of the run: just after a random step began, plus a random delay
            event = rng.choice(
                [
                    "event=heartbeat",
                    "event=round.created",
                    "event=dispatch",
                    "event=collect",
                    "event=round.scored",
                    "event=feedback",
                ]
            )
            wait_until(
                lambda e=event, f=log_path, p=proc: e in f.read_text() or p.poll() is not None,
                timeout=60,
                what=f"{event} in the validator's log",
            )
            time.sleep(rng.uniform(0.0, 0.3))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                interrupted.append((event, _snapshot(f"sqlite:///{home_b / 'validator.db'}")["counts"]))
        proc = start_dojo(["validator", "--rounds", str(ROUNDS)], _env(home_b, chain_db, wallets), tmp_path / "b.log")
        try:
            assert proc.wait(90) == 0, (tmp_path / "b.log").read_text()[-3000:]
        finally:
            stop(proc)
    chain.close()
    got = _snapshot(f"sqlite:///{home_b / 'validator.db'}")

    # the kills did land mid-run: some with tasks still on their way
    mid_run = [c for _, c in interrupted if sum(c.values()) < 3 * 2 * ROUNDS or set(c) - {"fed_back"}]
    assert len(mid_run) >= 2, interrupted
    # the reference did real work
    assert ref["rounds"] == [(i, "scored") for i in range(1, ROUNDS + 1)]
    assert len(ref["tasks"]) == 3 * 2 * ROUNDS and set(ref["tasks"].values()) == {"fed_back"}  # own instances
    assert len(ref["sent"]) == 3 * 2 * ROUNDS and len(ref["results"]) > 0
    # every dispatched task scored exactly once, nothing lost, same running scores as without kills
    assert got["rounds"] == ref["rounds"]
    assert got["tasks"] == ref["tasks"]
    assert got["sent"] == ref["sent"]
    assert got["n_scores"] == len(got["sent"]) == len(set(got["scores"]))
    assert got["results"] == ref["results"]
    assert got["scores"] == pytest.approx(ref["scores"], abs=1e-12)
    assert got["running"] == pytest.approx(ref["running"], abs=1e-12)
    assert len(got["running"]) == 3 and max(got["running"].values()) > 0

    # ground truth and model names never reached a miner before the deadline, even with real obfuscation
    store = ValidatorStore(f"sqlite:///{home_a / 'validator.db'}")
    with store.transaction() as s:
        secrets = set()
        for t in s.scalars(sa.select(Task)).all():
            secrets |= {r["model"] for r in t.responses} | set(t.ground_truth) | {t.id}
    store.dispose()
    copies = 0
    for _, path, body in bodies:
        if path.endswith("/feedback"):
            continue
        text = body.decode()
        assert not any(secret in text for secret in secrets), path
        if path == "/v1/tasks":
            copies += 1
            assert "ground_truth" not in json.loads(text)
    assert copies >= 3 * 2 * ROUNDS
