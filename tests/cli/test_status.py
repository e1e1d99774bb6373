"""``dojo status`` against real stores with data: validator rounds run over the in-process fakes, a miner's
task map, and a worker API used through its HTTP API (issue 13, part 5)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.cli.clirun import run_dojo
from tests.validator.vfakes import Clock, FakeChain, FakeGateway, FakeMiner, ListSource, tag_obfuscate, targets
from tests.worker_api.conftest import make_settings
from tests.worker_api.helpers import (
    body,
    create_task,
    keypair,
    labeller_login,
    link,
    metagraph_of,
    miner_login,
    new_key,
    scores_for,
)

from dojo import protocol
from dojo.miner.store import TaskMap
from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.external import ExternalQueue, ExternalTaskIn
from dojo.validator.store.repo import ValidatorStore

VALIDATOR = "5ValidatorHotkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


@pytest.fixture(autouse=True)
def _no_env_stores(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DOJO_HOME", "DOJO_VALIDATOR_DB_URL", "DOJO_WORKER_DB_URL"):
        monkeypatch.delenv(name, raising=False)


def status_json(home: Path, capsys: Any, monkeypatch: Any, *args: str) -> list[dict[str, Any]]:
    got = run_dojo(["status", "--home", str(home), "--json", *args], capsys, monkeypatch)
    assert got.code == 0, got.out + got.err
    return list(json.loads(got.out)["roles"])


async def run_validator_rounds(home: Path, rounds: int, url: str | None = None) -> None:
    """``rounds`` full rounds of a validator over fakes (good, reverse, unreachable miners), then weights."""
    store = ValidatorStore(url or f"sqlite:///{home / 'validator.db'}")
    behaviours = ["good", "reverse", "down"]
    miners = targets(behaviours)
    gateway = FakeGateway({m.hotkey: FakeMiner(b) for m, b in zip(miners, behaviours, strict=True)})
    chain, clock = FakeChain(miners, VALIDATOR), Clock()
    cfg = EngineConfig(deadline_s=60, tasks_per_round=2, seed=7, epoch_blocks=10)
    engine = Engine(store, gateway, ListSource(False), chain, object(), VALIDATOR, cfg, tag_obfuscate, clock=clock)
    engine.active = miners
    for _ in range(rounds):
        await engine.start_round()
        await engine.dispatch()
        clock.advance(61)
        await engine.collect()
        await engine.score()
        await engine.feedback()
    assert await engine.set_weights(force=True)
    responses = [
        protocol.Response(completion_id=f"{i:08d}-0000-4000-8000-000000000000", content="<p>x</p>") for i in range(2)
    ]
    ExternalQueue(store).add(ExternalTaskIn(prompt="Which is better?", responses=responses))
    store.dispose()


async def test_validator_status_shows_rounds_miners_scores_weights_and_queue(
    tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    await run_validator_rounds(tmp_path, rounds=3)
    (st,) = status_json(tmp_path, capsys, monkeypatch, "--rounds", "2")
    assert st["role"] == "validator"
    assert [r["id"] for r in st["rounds"]] == [3, 2]  # newest first, as many as asked
    assert all(r["state"] == "scored" and r["scored_at"] and r["tasks"] == {"synthetic": 6} for r in st["rounds"])
    assert st["rounds"][0]["copies"] == {"fed_back": 4, "dispatch_failed": 2}
    assert st["active_miners"] == 2  # the unreachable miner refused every copy
    by_key = {m["hotkey"]: m for m in st["miners"]}
    assert by_key["hk-3-down"]["accepted"] == 0 and by_key["hk-3-down"]["failed"] == 4
    assert by_key["hk-1-good"]["accepted"] == 4
    running = st["running"]
    assert [r["hotkey"] for r in running] == ["hk-1-good", "hk-3-down", "hk-2-reverse"]  # best first
    assert running[0]["score"] == pytest.approx(1.0) and running[-1]["score"] == pytest.approx(-1.0)
    assert running[0]["weight"] > 0 and running[0]["last_round"] == 3
    assert st["last_weights_set"]["block"] == 100 and st["last_weights_set"]["at"]
    assert st["external"]["queued"] == 1 and st["external"]["oldest_queued_at"]

    got = run_dojo(["status", "--home", str(tmp_path)], capsys, monkeypatch)
    assert got.code == 0, got.err
    for words in ("Last rounds", "2 active", "Top running scores", "hk-1-good", "+1.0000", "block 100", "queued 1"):
        assert words in got.out, (words, got.out)


async def test_miner_status_counts_received_open_labelled_and_the_last_score(
    tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    now = datetime.now(timezone.utc)
    store = TaskMap(tmp_path / "miner.db")
    for i, expire in enumerate([now + timedelta(hours=1), now + timedelta(hours=1), now - timedelta(minutes=5)]):
        await store.put("validator-a" if i else "validator-b", f"task-{i}", f"w-{i}", expire.isoformat())
    await store.mark_results("validator-b", "task-0", 2)
    await store.mark_results("validator-a", "task-1", 0)  # asked, nothing labelled yet
    await store.mark_feedback("validator-b", "task-0", 0.75)
    store.close()
    (st,) = status_json(tmp_path, capsys, monkeypatch, "--role", "miner")
    assert st["tasks"] == {"received": 3, "open": 2, "labelled": 1, "fed_back": 1}
    assert st["validators"] == 2 and st["last_score"] == pytest.approx(0.75) and st["last_score_at"]
    got = run_dojo(["status", "--home", str(tmp_path)], capsys, monkeypatch)
    assert got.code == 0 and "Last score received: +0.7500" in got.out, got.out


def test_an_older_miner_store_gains_the_new_columns(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "miner.db") as db:
        db.execute(
            "CREATE TABLE task_map (validator_hotkey TEXT NOT NULL, task_id TEXT NOT NULL, worker_task_id TEXT NOT "
            "NULL, expire_at TEXT NOT NULL, created_at TEXT NOT NULL, feedback_at TEXT, PRIMARY KEY (validator_hotkey, "
            "task_id))"
        )
        db.execute("INSERT INTO task_map VALUES ('v', 't', 'w', '2000-01-01T00:00:00+00:00', '2000', '2000')")
    store = TaskMap(tmp_path / "miner.db")
    summary = store.summary_sync()
    store.close()
    assert (summary.received, summary.open, summary.labelled, summary.fed_back) == (1, 0, 0, 1)
    assert summary.last_score is None


def test_miners_opening_one_older_store_together_upgrade_it_once(tmp_path: Path) -> None:
    """The local network's miners share one miner.db and start at once: none may fail on the upgrade."""
    import subprocess
    import sys

    with sqlite3.connect(tmp_path / "miner.db") as db:
        db.execute(
            "CREATE TABLE task_map (validator_hotkey TEXT NOT NULL, task_id TEXT NOT NULL, worker_task_id TEXT NOT "
            "NULL, expire_at TEXT NOT NULL, created_at TEXT NOT NULL, feedback_at TEXT, PRIMARY KEY (validator_hotkey, "
            "task_id))"
        )
    code = (
        "import sys, time; from pathlib import Path; from dojo.miner.store import TaskMap\n"
        "time.sleep(max(0.0, float(sys.argv[2]) - time.time()))\n"  # sleep, not spin: the machine may be busy
        "TaskMap(Path(sys.argv[1])).close()\n"
    )
    start = f"{__import__('time').time() + 5:.3f}"  # every process opens the store at the same moment
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "miner.db"), start], stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    with sqlite3.connect(tmp_path / "miner.db") as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(task_map)")]
    assert columns.count("results") == 1 and columns.count("score") == 1
    assert columns.count("miner_task_id") == 1 and "task_id" not in columns  # renamed once, too


async def fill_worker_api(home: Path, url: str | None = None) -> None:
    """A miner with 3 tasks, 2 subscribed labellers who answered the first, and one who only signed in."""
    from dojo.worker_api.app import create_app

    alice = keypair("//Alice")
    app = create_app(make_settings(home, url), metagraph=lambda: metagraph_of(alice.ss58_address))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            miner = await miner_login(c, alice)
            api_key, sub_key = await new_key(c, miner, "api-keys"), await new_key(c, miner, "subscription-keys")
            tasks = [await create_task(c, api_key) for _ in range(3)]
            for _ in range(2):
                _, lab = await labeller_login(c)
                await link(c, lab, sub_key)
                task_id, task = tasks[0]
                body(await c.put(f"/api/v1/tasks/{task_id}/result", json={"scores": scores_for(task)}, headers=lab))
            await labeller_login(c)  # signed in, never subscribed


def test_worker_api_status_counts_tasks_labellers_and_results(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    asyncio.run(fill_worker_api(tmp_path))  # the command runs its own event loop, as from a shell
    (st,) = status_json(tmp_path, capsys, monkeypatch, "--role", "worker-api")
    assert st["tasks"] == {"open": 3} and st["miners"] == 1
    assert st["labellers"] == {"total": 3, "seen_24h": 3, "active_1h": 2}
    assert st["results"]["total"] == 2 and st["results"]["last_hour"] == 2 and st["results"]["last_at"]
    assert st["results"]["per_hour_24h"] == pytest.approx(2 / 24, abs=0.01)

    TaskMap(tmp_path / "miner.db").close()  # a miner and its worker API in one home: auto shows both
    assert [r["role"] for r in status_json(tmp_path, capsys, monkeypatch)] == ["miner", "worker-api"]
    got = run_dojo(["status", "--home", str(tmp_path), "--role", "worker-api"], capsys, monkeypatch)
    assert got.code == 0 and "Labellers and results" in got.out, got.out


def test_nothing_configured_is_a_clear_error(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    got = run_dojo(["status", "--home", str(tmp_path)], capsys, monkeypatch)
    assert got.code == 2 and "no validator, miner or worker API store" in got.err, got.err
    assert str(tmp_path / "validator.db") in got.err.replace("\n", "")
    got = run_dojo(["status", "--home", str(tmp_path), "--role", "validator"], capsys, monkeypatch)
    assert got.code == 2 and "no validator store" in got.err and "DOJO_VALIDATOR_DB_URL" in got.err, got.err
    got = run_dojo(["status", "--home", str(tmp_path), "--role", "chain"], capsys, monkeypatch)
    assert got.code == 2 and "unknown role 'chain'" in got.err, got.err
    assert not list(tmp_path.iterdir())  # looking created nothing


async def test_validator_status_on_postgresql(tmp_path: Path, pg_url: str, capsys: Any, monkeypatch: Any) -> None:
    await run_validator_rounds(tmp_path, rounds=2, url=pg_url)
    monkeypatch.setenv("DOJO_VALIDATOR_DB_URL", pg_url)
    (st,) = status_json(tmp_path, capsys, monkeypatch)  # auto: a configured server database counts as found
    assert st["role"] == "validator" and "postgres@127.0.0.1" in st["store"]
    assert [r["id"] for r in st["rounds"]] == [2, 1] and st["active_miners"] == 2
    assert st["running"][0]["hotkey"] == "hk-1-good" and st["external"]["queued"] == 1


def test_worker_api_status_on_postgresql(tmp_path: Path, pg_url: str, capsys: Any, monkeypatch: Any) -> None:
    asyncio.run(fill_worker_api(tmp_path, pg_url))
    monkeypatch.setenv("DOJO_WORKER_DB_URL", pg_url)
    (st,) = status_json(tmp_path, capsys, monkeypatch, "--role", "worker-api")
    assert st["tasks"] == {"open": 3} and st["labellers"]["active_1h"] == 2 and st["results"]["last_hour"] == 2
