"""`dojo external submit | status | fetch` against the real external-task API on a loopback port."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import run_dojo

from dojo.validator.store.repo import ValidatorStore

sys.path.insert(0, str(Path(__file__).parents[1] / "validator"))
from test_external_bulk import TOKEN, row, serve, write_jsonl  # noqa: E402


@pytest.fixture
def api(tmp_path: Path, tmp_home: Path) -> Iterator[str]:
    store = ValidatorStore(f"sqlite:///{tmp_path / 'validator.db'}")
    try:
        yield from serve(store)
    finally:
        store.dispose()


def test_submit_status_fetch(api: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DOJO_VALIDATOR_EXTERNAL_API_TOKEN", TOKEN)
    monkeypatch.setenv("DOJO_EXTERNAL_URL", api)
    src = write_jsonl(tmp_path / "in.jsonl", [row(1), row(2, n=1), row(3)])
    r = run_dojo(["external", "submit", str(src)], capsys, monkeypatch)
    assert r.code == 0, r.err
    assert "2 new tasks queued, 0 already submitted, 1 rows refused" in r.out
    assert "row 2: responses:" in r.out
    r = run_dojo(["external", "submit", str(src), "--url", api, "--token", TOKEN], capsys, monkeypatch)
    assert "0 new tasks queued, 2 already submitted" in r.out

    r = run_dojo(["external", "status"], capsys, monkeypatch)
    assert r.code == 0 and "queued" in r.out and "ETA: unknown (nothing finished recently)" in r.out

    r = run_dojo(["external", "fetch", "--out", str(tmp_path / "out"), "--format", "jsonl"], capsys, monkeypatch)
    assert r.code == 0 and "wrote 0 finished tasks" in r.out
    assert (tmp_path / "out" / "pairs.jsonl").read_text() == ""


def test_errors_are_one_clear_line(api: str, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("DOJO_VALIDATOR_EXTERNAL_API_TOKEN", raising=False)
    src = write_jsonl(tmp_path / "in.jsonl", [row(1)])
    r = run_dojo(["external", "submit", str(src), "--url", api], capsys, monkeypatch)
    assert r.code == 2 and "no external-task API token" in r.err
    r = run_dojo(["external", "submit", str(src), "--url", api, "--token", "wrong"], capsys, monkeypatch)
    assert r.code == 2 and "HTTP 401" in r.err
    r = run_dojo(["external", "status", "--url", "http://127.0.0.1:9", "--token", "t"], capsys, monkeypatch)
    assert r.code == 2 and "cannot reach the validator" in r.err
    r = run_dojo(["external", "submit", str(tmp_path / "nope.csv"), "--token", "t"], capsys, monkeypatch)
    assert r.code == 2 and "no such file" in r.err
    bad = write_jsonl(tmp_path / "bad.jsonl", [json.dumps({"prompt": "x"})])
    r = run_dojo(["external", "submit", str(bad), "--url", api, "--token", TOKEN], capsys, monkeypatch)
    assert r.code == 1 and "row 1: responses" in r.out
