"""The ``dojo`` command: ``app`` builds the Typer application (the command groups are listed in
``registry``, one module each) and :func:`main` runs it.

The CLI is the top layer: nothing else in ``dojo`` imports it. ``main`` is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dojo._lazy import lazy_exports

if TYPE_CHECKING:
    from dojo.cli.app import main

__all__ = ["main"]

__getattr__ = lazy_exports(__name__, {"main": "dojo.cli.app"})
