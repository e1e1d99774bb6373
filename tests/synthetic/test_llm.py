"""The LLM generator against a fake OpenAI-compatible server: happy path, retries, repair, drops, accounting."""

from __future__ import annotations

import random

import pytest

from dojo.config import SyntheticSettings
from dojo.synthetic.llm import LLMError, LLMGenerator, parse_json
from dojo.synthetic.validation import document_error
from synthetic.fake_llm import FakeServer


def _gen(server: FakeServer, **kw: object) -> LLMGenerator:
    s = SyntheticSettings(
        llm_base_url=server.base_url,
        llm_api_key="test-key",
        llm_model="fake-model",
        llm_timeout_s=kw.pop("timeout", 5.0),
        llm_backoff_s=0.01,
        llm_max_attempts=kw.pop("attempts", 3),
        llm_input_usd_per_mtok=1.0,
        llm_output_usd_per_mtok=2.0,
    )
    return LLMGenerator(s, rng=random.Random(1))


def _phases(server: FakeServer) -> list[str]:
    return [c["phase"] for c in server.fake.calls]


def test_a_whole_task_through_the_endpoint(fake_llm: FakeServer) -> None:
    task = _gen(fake_llm).generate()
    assert len(task.responses) == 4
    assert set(task.ground_truth) == {r.completion_id for r in task.responses}
    assert sorted(task.ground_truth.values()) == [0, 1, 2, 3]
    assert all(document_error(r.content) is None for r in task.responses)
    assert len({r.content for r in task.responses}) == 4
    assert "Features:" in task.prompt and "User actions:" in task.prompt and "[gravity]" not in task.prompt
    assert _phases(fake_llm) == ["question", "answer", "degrade", "degrade", "degrade"]
    meta = task.metadata
    assert meta["generator"] == "llm" and meta["model"] == "fake-model"
    assert meta["tokens"] == {"prompt": 5000, "completion": 2500}
    assert meta["cost_usd"] == pytest.approx(5000 * 1.0 / 1e6 + 2500 * 2.0 / 1e6)
    assert [e["step"] for e in meta["ladder"]] == [0, 1, 2, 3]
    # our own prompts, JSON mode, the configured model
    body = fake_llm.fake.calls[0]["body"]
    assert body["model"] == "fake-model" and body["response_format"] == {"type": "json_object"}
    degrade = fake_llm.fake.calls[2]["body"]["messages"][-1]["content"]
    assert "Remove this requested feature" in degrade and "Document:" in degrade


def test_transient_failures_are_retried(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.extend(["500", "429", "malformed"])
    task = _gen(fake_llm, attempts=4).generate()
    assert len(task.responses) == 4
    assert task.metadata["retries"] == 3
    assert _phases(fake_llm)[:4] == ["question"] * 4


def test_a_timeout_is_retried(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.append("timeout")
    task = _gen(fake_llm, timeout=0.5).generate()
    assert task.metadata["retries"] == 1 and len(task.responses) == 4


def test_a_code_fence_around_the_json_is_accepted(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.append("fenced")
    assert _gen(fake_llm).generate().metadata["retries"] == 0


def test_a_broken_document_is_repaired_with_the_error(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.extend(["ok", "broken_js"])  # question ok, answer has a JS syntax error
    task = _gen(fake_llm).generate()
    assert _phases(fake_llm)[:3] == ["question", "answer", "repair"]
    repair = fake_llm.fake.calls[2]["body"]["messages"][-1]["content"]
    assert "syntax error" in repair and "let x = ;" in repair
    assert task.metadata["repairs"] == 1 and len(task.responses) == 4


def test_a_variant_that_stays_broken_is_dropped(fake_llm: FakeServer) -> None:
    # question, answer, first degrade remote → repair remote again → dropped; the others fine
    fake_llm.fake.script.extend(["ok", "ok", "remote", "remote"])
    task = _gen(fake_llm).generate()
    assert len(task.responses) == 3
    assert sorted(task.ground_truth.values()) == [0, 1, 2]
    assert task.metadata["dropped"] == 1
    assert [e["step"] for e in task.metadata["ladder"]] == [0, 2, 3]
    assert all("cdn.example.com" not in r.content for r in task.responses)


def test_a_base_that_stays_broken_drops_the_task(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.extend(["ok", "broken_js", "broken_js"])
    with pytest.raises(LLMError, match="faithful answer"):
        _gen(fake_llm).generate()


def test_persistent_server_errors_give_up_with_a_clear_error(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.extend(["503"] * 3)
    with pytest.raises(LLMError, match="after 3 attempts"):
        _gen(fake_llm).generate()
    assert len(fake_llm.fake.calls) == 3


def test_a_refused_key_fails_at_once(fake_llm: FakeServer) -> None:
    fake_llm.fake.script.append("401")
    with pytest.raises(LLMError, match="HTTP 401"):
        _gen(fake_llm).generate()
    assert len(fake_llm.fake.calls) == 1


def test_no_key_is_a_clear_error() -> None:
    with pytest.raises(LLMError, match="DOJO_SYNTHETIC_LLM_API_KEY"):
        LLMGenerator(SyntheticSettings(llm_api_key=None))


def test_parse_json() -> None:
    assert parse_json('{"a": 1}') == {"a": 1}
    assert parse_json('```json\n{"a": 1}\n```') == {"a": 1}
    for bad in ("", "[1, 2]", "{nope"):
        with pytest.raises(ValueError):
            parse_json(bad)
