"""The README's configuration table names every setting, so the documentation stays true."""

from __future__ import annotations

import re
from pathlib import Path

from dojo.config import _SECTIONS, Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
PREFIX = {"timing_overrides": "DOJO_TIMING_"}


def _documented(var: str) -> bool:
    """``var`` is in the README in full, or as a ``_SUFFIX`` that completes a full name in the same row
    (``DOJO_X_HOST` / `_PORT`` documents ``DOJO_X_PORT``)."""
    if var in README:
        return True
    for row in (line for line in README.splitlines() if line.startswith("|")):
        fulls = re.findall(r"`(DOJO_[A-Z0-9_]+)`", row)
        suffixes = re.findall(r"`(_[A-Z0-9_]+)`", row)
        for full in fulls:
            cuts = [i for i, ch in enumerate(full) if ch == "_"]
            if any(full[:i] + suf == var for i in cuts for suf in suffixes):
                return True
    return False


def test_every_setting_is_in_the_readme() -> None:
    missing = []
    for name, cls in _SECTIONS.items():
        prefix = PREFIX.get(name) or f"DOJO_{name.upper()}_"
        for field in cls.model_fields:
            var = prefix + field.upper()
            if not _documented(var):
                missing.append(var)
    for field in Settings.model_fields:
        if field not in _SECTIONS:
            var = f"DOJO_{field.upper()}"
            if not re.search(rf"`{var}`", README):
                missing.append(var)
    assert not missing, f"settings missing from the README's configuration table: {missing}"


def test_quick_start_names_the_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make demo" in quick and "make test" in quick
