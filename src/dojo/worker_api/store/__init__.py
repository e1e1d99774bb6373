"""Persistence of the worker API: ``models`` (the tables), ``db`` (engines, Alembic migrations),
``runner`` (statements compiled once, run on a kept connection) and ``stats``.

The names below are imported on first use; the tables are in :mod:`dojo.worker_api.store.models`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dojo._lazy import lazy_exports

if TYPE_CHECKING:
    from dojo.worker_api.store.db import is_sqlite, make_engine, make_sessionmaker, migrate, migrate_sync
    from dojo.worker_api.store.models import Base
    from dojo.worker_api.store.runner import Runner

_EXPORTS = {
    "is_sqlite": "dojo.worker_api.store.db",
    "make_engine": "dojo.worker_api.store.db",
    "make_sessionmaker": "dojo.worker_api.store.db",
    "migrate": "dojo.worker_api.store.db",
    "migrate_sync": "dojo.worker_api.store.db",
    "Base": "dojo.worker_api.store.models",
    "Runner": "dojo.worker_api.store.runner",
}

__all__ = ["Base", "Runner", "is_sqlite", "make_engine", "make_sessionmaker", "migrate", "migrate_sync"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
