"""Lazy package exports: a package names its public surface without importing the modules behind it.

``__getattr__ = lazy_exports(__name__, {"Name": "dojo.pkg.module", ...})`` in a package's
``__init__`` makes ``pkg.Name`` (and ``from pkg import Name``) import ``dojo.pkg.module`` on first
use (PEP 562), so importing the package, or one light submodule of it, stays cheap. The package
lists the same names in ``__all__`` and imports them under ``TYPE_CHECKING`` for type checkers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving each name of ``exports`` (name → defining module) on first use."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(module), name)

    return __getattr__
