"""The validator service starts the planning processes once the subnet is large enough for a round to use them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from dojo.validator import procpool
from dojo.validator.engine import EngineConfig
from dojo.validator.service import Intervals, ValidatorService


class Heartbeats:
    """The engine part the heartbeat loop touches: each heartbeat finds the next count of miners."""

    def __init__(self, counts: list[int], tasks_per_round: int) -> None:
        self.counts = counts
        self.active: list[Any] = []
        self.config = EngineConfig(tasks_per_round=tasks_per_round)

    async def refresh_miners(self) -> list[Any]:
        self.active = [SimpleNamespace(uid=i) for i in range(self.counts.pop(0))]
        return self.active


async def test_the_pool_is_warmed_once_when_a_round_would_use_it(monkeypatch: pytest.MonkeyPatch) -> None:
    warmed: list[int | None] = []
    monkeypatch.setattr(procpool, "cpu_count", lambda: 2)
    monkeypatch.setattr(procpool, "warm", lambda n=None: warmed.append(n) or 2)
    per_round = 4
    small = (procpool.MIN_ITEMS - 1) // per_round  # its rounds are planned in the validator's own process
    engine = Heartbeats([0, small, small + 1, small + 5], per_round)
    service = ValidatorService(engine, Intervals(heartbeat=1, new_round=1, settle=1, weights=1))  # type: ignore[arg-type]

    await service._heartbeat()
    await service._heartbeat()
    assert service.warming is None and warmed == []
    await service._heartbeat()
    assert service.warming is not None
    await service.warming
    assert warmed == [None]  # the default size: one process per CPU
    await service._heartbeat()
    assert warmed == [None]


async def test_a_failed_warm_up_is_logged_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(n: int | None = None) -> int:
        raise OSError("cannot spawn")

    monkeypatch.setattr(procpool, "cpu_count", lambda: 2)
    monkeypatch.setattr(procpool, "warm", broken)
    service = ValidatorService(Heartbeats([procpool.MIN_ITEMS], 1), Intervals(1, 1, 1, 1))  # type: ignore[arg-type]
    await service._heartbeat()
    assert service.warming is not None
    await service.warming
    assert any("plan.warm_failed" in r.getMessage() for r in caplog.records)
