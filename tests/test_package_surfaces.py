"""Each package names its public surface in ``__all__``, every name resolves, and importing a package
whose names are lazy (:mod:`dojo._lazy`) imports none of the modules behind them."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

#: Packages that import nothing heavy until a name is used.
LAZY = [
    "dojo.cli",
    "dojo.localnet",
    "dojo.validator",
    "dojo.validator.store",
    "dojo.worker_api",
    "dojo.worker_api.auth",
    "dojo.worker_api.contexts",
    "dojo.worker_api.store",
]
PACKAGES = sorted(
    [*LAZY, "dojo.cli.keys", "dojo.client", "dojo.dataset", "dojo.scoring", "dojo.synthetic", "dojo.validator.external"]
)
HEAVY = ("sqlalchemy", "fastapi", "typer", "bittensor", "numpy", "pyarrow", "httpx", "redis", "uvicorn")


@pytest.mark.parametrize("name", PACKAGES)
def test_every_name_in_all_resolves(name: str) -> None:
    package = importlib.import_module(name)
    surface = package.__all__
    assert surface and len(set(surface)) == len(surface), f"{name}.__all__ is empty or repeats a name"
    for attr in surface:  # a name defined or served lazily, or a submodule the package lists
        assert hasattr(package, attr) or importlib.import_module(f"{name}.{attr}"), f"{name}.{attr}"


def test_lazy_packages_import_nothing_heavy() -> None:
    code = (
        "import sys\n"
        f"for name in {LAZY!r}:\n"
        "    __import__(name)\n"
        f"print(sorted(h for h in {HEAVY!r} if h in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_an_unknown_name_is_an_attribute_error_and_submodules_still_import() -> None:
    import dojo.localnet

    with pytest.raises(AttributeError, match="'dojo.localnet' has no attribute 'nothing'"):
        _ = dojo.localnet.nothing  # type: ignore[attr-defined]
    from dojo.localnet import strategies

    assert strategies.__name__ == "dojo.localnet.strategies"
