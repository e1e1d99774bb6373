"""Fixtures of the synthetic tests: a fake OpenAI-compatible server on loopback, and a Chromium tab."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from synthetic.chromium import Tab, chromium_tab
from synthetic.fake_llm import FakeServer


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def fake_llm(fake_server: FakeServer) -> Iterator[FakeServer]:
    """The shared fake server, with its script and call log cleared for this test."""
    fake_server.fake.script.clear()
    fake_server.fake.calls.clear()
    yield fake_server
    fake_server.fake.script.clear()


@pytest.fixture(scope="module")
def tab() -> Iterator[Tab]:
    """One Chromium tab for a module's browser tests (:mod:`synthetic.chromium`)."""
    with chromium_tab() as t:
        yield t
