"""The validator: makes every miner its own tasks, dispatches their copies, collects, scores, sets weights.

Public surface (imported lazily, so ``import dojo.validator.store.models`` stays light)::

    ValidatorStore(url)                      the store: SQLite (WAL) or PostgreSQL, migrated on open
    Engine(store, gateway, source, chain, wallet, self_hotkey, EngineConfig(...), obfuscate)
        .refresh_miners() .start_round() .dispatch() .collect() .score() .feedback() .set_weights()
    MinerGateway / SignedGateway             the I/O edge towards miners (protocol / signed HTTP)
    TaskSource / HttpSource / ProceduralSource / SourceTask   where a round's slots come from
    plan_new_round(...)                      a round: external tasks (capped), per-miner instances, copies
    ValidatorService(engine, intervals, max_rounds)  the loops;  run_validator(settings, max_rounds)
    TaskState / AssignmentState              the state machines (dojo.validator.states)
    ExternalQueue / create_external_app      the external-task API
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ValidatorStore": "dojo.validator.store.repo",
    "Engine": "dojo.validator.engine",
    "EngineConfig": "dojo.validator.engine",
    "MinerGateway": "dojo.validator.gateway",
    "SignedGateway": "dojo.validator.gateway",
    "TaskSource": "dojo.validator.sources",
    "HttpSource": "dojo.validator.sources",
    "ProceduralSource": "dojo.validator.sources",
    "SourceTask": "dojo.validator.sources",
    "plan_new_round": "dojo.validator.planner",
    "ValidatorService": "dojo.validator.service",
    "run_validator": "dojo.validator.service",
    "TaskState": "dojo.validator.states",
    "AssignmentState": "dojo.validator.states",
    "ExternalQueue": "dojo.validator.external",
    "create_external_app": "dojo.validator.external",
    "MinerTarget": "dojo.validator.store.records",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'dojo.validator' has no attribute {name!r}")
