"""The worker API: the labelling backend (DESIGN §2, §4, §5).

Layers: ``routes/`` (thin HTTP handlers) → ``contexts/`` (one rule per function, with the
transaction it needs) → ``store/`` (SQLAlchemy models, engine, Alembic migrations).
``auth/`` holds logins, tokens, nonces and keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app(*args: Any, **kwargs: Any) -> FastAPI:
    """Build the worker API app (see :func:`dojo.worker_api.app.create_app`)."""
    from dojo.worker_api.app import create_app as _create_app

    return _create_app(*args, **kwargs)


__all__ = ["create_app"]
