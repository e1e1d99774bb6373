"""Fixtures of the browser tests: one worker API and one Debian chromium per module, a fresh context per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from tests.e2e.support import CHROMIUM, DESKTOP, LAUNCH_ARGS, CountingServer, Miner, PageWallet, WorkerApi, hotkey

expect.set_options(timeout=10_000)  # the machine is shared: give slow moments room, still bounded


@pytest.fixture(scope="module")
def worker_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerApi]:
    home = tmp_path_factory.mktemp("worker-home")
    with WorkerApi(home, [hotkey("//Alice").ss58_address, hotkey("//Bob").ss58_address]) as api:
        yield api


@pytest.fixture(scope="module")
def miner(worker_api: WorkerApi) -> Miner:
    return Miner(worker_api.url, "//Alice").login()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian chromium is missing at {CHROMIUM}: run `make browser`")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def counter() -> Iterator[CountingServer]:
    with CountingServer() as c:
        yield c


@pytest.fixture
def wallet() -> PageWallet:
    return PageWallet()


@pytest.fixture
def page(browser: Any, wallet: PageWallet) -> Iterator[Any]:
    """A fresh browser context (own storage) with the test wallet, desktop size; fails on page errors."""
    context = browser.new_context(viewport=DESKTOP)
    wallet.install(context)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors  # type: ignore[attr-defined]
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
    assert not [e for e in errors if "dojo" in e.lower() or "/js/" in e], f"script errors in the page: {errors}"
