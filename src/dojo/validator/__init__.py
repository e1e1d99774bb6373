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

from typing import TYPE_CHECKING

from dojo._lazy import lazy_exports

if TYPE_CHECKING:
    from dojo.validator.engine import Engine, EngineConfig
    from dojo.validator.external import ExternalQueue, create_external_app
    from dojo.validator.gateway import MinerGateway, SignedGateway
    from dojo.validator.planner import plan_new_round
    from dojo.validator.service import ValidatorService, run_validator
    from dojo.validator.sources import HttpSource, ProceduralSource, SourceTask, TaskSource
    from dojo.validator.states import AssignmentState, TaskState
    from dojo.validator.store.records import MinerTarget
    from dojo.validator.store.repo import ValidatorStore

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

__all__ = [
    "AssignmentState",
    "Engine",
    "EngineConfig",
    "ExternalQueue",
    "HttpSource",
    "MinerGateway",
    "MinerTarget",
    "ProceduralSource",
    "SignedGateway",
    "SourceTask",
    "TaskSource",
    "TaskState",
    "ValidatorService",
    "ValidatorStore",
    "create_external_app",
    "plan_new_round",
    "run_validator",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
