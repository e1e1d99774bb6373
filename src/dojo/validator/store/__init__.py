"""The validator store: the only code that reads or writes the validator's database.

``repo.ValidatorStore`` is the one class callers use; each concern's steps are in their own module
(``dispatch``, ``collect``, ``scoring``, ``feedback``, ``weights``, ``external``, ``views``, ``export``), over
``models`` (the tables), ``db`` (engine, read-only opening, Alembic migrations) and ``records``
(the plain values steps take and return). The names below are imported on first use, so
``records`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dojo._lazy import lazy_exports

if TYPE_CHECKING:
    from dojo.validator.store.db import Database
    from dojo.validator.store.repo import ValidatorStore

__all__ = ["Database", "ValidatorStore"]

__getattr__ = lazy_exports(
    __name__, {"Database": "dojo.validator.store.db", "ValidatorStore": "dojo.validator.store.repo"}
)
