"""The miner: signed endpoints for validators (``app``, ``routes``, ``deps``), its worker API client
(``worker_client``), the task map that survives restarts (``store``), the service runner behind
``dojo miner`` (``service``), and the key shell's client of the worker API's key endpoints (``keys_client``).

Public surface (imported lazily, so ``import dojo.miner.store`` stays light)::

    create_app(settings, wallet, chain, worker_client)   the miner's FastAPI app
    serve_miner(settings, chain=, wallet=, stop=)       run it: listen, publish the address, serve
    run_miner(settings)                                 the blocking entry point of ``dojo miner``
    WorkerApiClient(base_url, api_key)                   its client of the worker API
    TaskMap(path)                                       (validator, miner_task_id) → worker_task_id
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "create_app": "dojo.miner.app",
    "serve_miner": "dojo.miner.service",
    "run_miner": "dojo.miner.service",
    "WorkerApiClient": "dojo.miner.worker_client",
    "TaskMap": "dojo.miner.store",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'dojo.miner' has no attribute {name!r}")
