"""One owner for the validator's database: no module outside ``dojo.validator.store`` reads or writes it directly.

Callers go through :class:`ValidatorStore`'s methods, so a schema change is made (and tested) in one
package. The scan reads every module's source (nothing is imported) and looks for the ways around
the store: its ORM models or raw session, a store's ``transaction()`` or ``engine``, and SQL
naming the validator's tables.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import dojo
from dojo.validator.store.models import Base

SRC = Path(dojo.__file__).parent
STORE = SRC / "validator" / "store"
TABLES = sorted(Base.metadata.tables)
SQL = re.compile(
    r"\b(?:from|join|into|update|table)\s+[\"'`]?(" + "|".join(map(re.escape, TABLES)) + r")\b", re.IGNORECASE
)
#: modules with databases of their own, whose tables may share a name with the validator's (``tasks``, ``results``)
OTHER_DATABASES = ("worker_api/", "miner/store.py", "chain/local.py")
#: the schema itself (not its rows) is migrated through the store's own Alembic helpers
MIGRATION_HELPERS = {"alembic_config", "make_engine", "migrate", "sqlite_file"}


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if STORE not in p.parents)


def _violations(rel: str, source: str) -> list[str]:
    """Each direct access to the validator's database in the module ``rel`` (its path under ``dojo/``)."""
    tree = ast.parse(source, filename=rel)
    found = []
    for node in ast.walk(tree):
        where = f"{rel}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom) and node.module:
            names = {a.name for a in node.names}
            if node.module == "dojo.validator.store.models" or (
                node.module == "dojo.validator.store" and names & {"models", "db"}
            ):
                found.append(f"{where} imports the validator's tables ({node.module})")
            if node.module == "dojo.validator.store.db" and names - MIGRATION_HELPERS:
                found.append(f"{where} opens the validator's database itself ({sorted(names - MIGRATION_HELPERS)})")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith(("dojo.validator.store.models", "dojo.validator.store.db")):
                    found.append(f"{where} imports {a.name}")
        elif isinstance(node, ast.Attribute) and node.attr in {"transaction", "engine", "_sessions"}:
            if "store" in ast.unparse(node.value).lower():
                found.append(f"{where} uses {ast.unparse(node)} instead of a store method")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and not rel.startswith(OTHER_DATABASES):
            m = SQL.search(node.value)
            if m:
                found.append(f"{where} has SQL on the validator's table {m.group(1)!r}: {node.value[:60]!r}")
    return found


def test_the_scan_sees_the_ways_around_the_store() -> None:
    """The scan itself: each kind of direct access in a sample module is reported."""
    code = (
        "from dojo.validator.store.models import Task\n"
        "from dojo.validator.store.db import Database, make_engine\n"
        "def f(store, db):\n"
        "    with store.transaction() as s:\n"
        "        s.get(Task, 1)\n"
        "    store.engine.dispose()\n"
        "    db.execute('SELECT state, result FROM external_requests WHERE id = ?')\n"
        "    db.execute('select 1 from running_scores')\n"
    )
    found = _violations("localnet/sample.py", code)
    kinds = " | ".join(found)
    assert len(found) == 6, found
    for words in ("imports the validator's tables", "['Database']", "store.transaction", "store.engine"):
        assert words in kinds, (words, kinds)
    assert "'external_requests'" in kinds and "'running_scores'" in kinds
    assert _violations("worker_api/sample.py", "q = 'SELECT id FROM tasks'") == []  # its own tasks table


def test_no_module_outside_the_store_touches_the_validators_database() -> None:
    modules = _modules()
    assert any(p.name == "oracle.py" for p in modules) and len(modules) > 100  # the scan sees the package
    found = [v for p in modules for v in _violations(p.relative_to(SRC).as_posix(), p.read_text(encoding="utf-8"))]
    assert not found, "go through a ValidatorStore method instead:\n  " + "\n  ".join(found)
