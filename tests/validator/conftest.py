"""Fixtures of the validator tests: a store on SQLite (or PostgreSQL) and an engine over fakes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from vfakes import Clock, FakeChain, FakeGateway, FakeMiner, ListSource, tag_obfuscate, targets

from dojo.validator.engine import Engine, EngineConfig
from dojo.validator.store.repo import ValidatorStore

VALIDATOR_HOTKEY = "5ValidatorHotkeyxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ValidatorStore]:
    s = ValidatorStore(f"sqlite:///{tmp_path / 'validator.db'}")
    yield s
    s.dispose()


@pytest.fixture
def make_engine(store: ValidatorStore) -> Callable[..., tuple[Engine, FakeGateway, FakeChain, Clock]]:
    def build(
        behaviours: list[str],
        tasks_per_round: int = 1,
        ranking: bool = False,
        seed: int | None = 7,
        rate_limit: int = 0,
        db: ValidatorStore | None = None,
    ) -> tuple[Engine, FakeGateway, FakeChain, Clock]:
        miners = targets(behaviours)
        gateway = FakeGateway({m.hotkey: FakeMiner(b) for m, b in zip(miners, behaviours, strict=True)})
        chain = FakeChain(miners, VALIDATOR_HOTKEY, rate_limit=rate_limit)
        clock = Clock()
        cfg = EngineConfig(deadline_s=60, tasks_per_round=tasks_per_round, seed=seed, epoch_blocks=10)
        engine = Engine(
            db or store,
            gateway,
            ListSource(ranking),
            chain,
            object(),
            VALIDATOR_HOTKEY,
            cfg,
            tag_obfuscate,
            clock=clock,
        )
        engine.active = miners
        return engine, gateway, chain, clock

    return build
