"""Generator choice: auto | procedural | llm, and the fallback to procedural with one clear warning."""

from __future__ import annotations

import logging

import pytest

from dojo.config import SyntheticSettings
from dojo.errors import DojoError
from dojo.synthetic.generators import FallbackGenerator, ProceduralGenerator, make_generator
from support import free_port
from synthetic.fake_llm import FakeServer


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.getMessage() == "synthetic.generator_fallback"
    ]


def test_procedural_and_auto_without_key_stay_quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    assert isinstance(make_generator(SyntheticSettings(generator="procedural")), ProceduralGenerator)
    assert isinstance(make_generator(SyntheticSettings(generator="auto", llm_api_key=None)), ProceduralGenerator)
    assert _warnings(caplog) == []


def test_llm_without_key_warns_once_and_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    gen = make_generator(SyntheticSettings(generator="llm", llm_api_key=None))
    assert gen.name == "procedural"
    [record] = _warnings(caplog)
    assert "DOJO_SYNTHETIC_LLM_API_KEY" in record.fields["reason"]  # type: ignore[attr-defined]
    assert len(gen.generate().responses) == 4


def test_llm_with_unreachable_endpoint_warns_and_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    dead = f"http://127.0.0.1:{free_port()}/v1"
    gen = make_generator(SyntheticSettings(generator="llm", llm_api_key="k", llm_base_url=dead, llm_timeout_s=2))
    assert gen.name == "procedural"
    [record] = _warnings(caplog)
    assert "unreachable" in record.fields["reason"]  # type: ignore[attr-defined]


def test_llm_with_refused_key_warns_and_falls_back(caplog: pytest.LogCaptureFixture, fake_llm: FakeServer) -> None:
    caplog.set_level(logging.INFO)
    gen = make_generator(SyntheticSettings(generator="auto", llm_api_key="bad-key", llm_base_url=fake_llm.base_url))
    assert gen.name == "procedural"
    [record] = _warnings(caplog)
    assert "refused the API key" in record.fields["reason"]  # type: ignore[attr-defined]


def test_llm_with_live_endpoint_is_used_and_failures_fall_back_per_task(fake_llm: FakeServer) -> None:
    s = SyntheticSettings(
        generator="llm", llm_api_key="k", llm_base_url=fake_llm.base_url, llm_backoff_s=0.01, llm_max_attempts=2, seed=5
    )
    gen = make_generator(s)
    assert isinstance(gen, FallbackGenerator) and gen.name == "llm"
    assert gen.generate().metadata["generator"] == "llm"
    fake_llm.fake.script.extend(["500", "500"])
    task = gen.generate()
    assert task.metadata["generator"] == "procedural" and gen.fallbacks == 1


def test_unknown_generator_is_a_clear_error() -> None:
    with pytest.raises(DojoError, match="expected one of auto, procedural, llm"):
        make_generator(SyntheticSettings(generator="magic"))


def test_procedural_generator_walks_seeds_from_the_configured_one() -> None:
    a, b = ProceduralGenerator(seed=11), ProceduralGenerator(seed=11)
    first = [a.generate().task_id for _ in range(3)]
    assert first == [b.generate().task_id for _ in range(3)]
    assert len(set(first)) == 3
