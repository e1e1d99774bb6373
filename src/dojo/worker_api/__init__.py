"""The worker API: the labelling backend (DESIGN §2, §4, §5).

Layers: ``routes/`` (thin HTTP handlers) → ``contexts/`` (one rule per function, with the
transaction it needs) → ``store/`` (SQLAlchemy models, engine, Alembic migrations).
``auth/`` holds logins, tokens, nonces and keys; ``lifecycle`` a task's states and transitions.
:func:`create_app` (from ``app``) is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dojo._lazy import lazy_exports

if TYPE_CHECKING:
    from dojo.worker_api.app import create_app

__all__ = ["create_app"]

__getattr__ = lazy_exports(__name__, {"create_app": "dojo.worker_api.app"})
