"""Shared by the obfuscation tests: sample documents, generator tasks, and the names a document's code uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dojo.obfuscation import identifiers
from dojo.obfuscation.markup import JS_URL, scan
from dojo.synthetic.models import SyntheticTask
from dojo.synthetic.procedural import FAMILIES, generate_task

SAMPLES = Path(__file__).parent / "samples"
SAMPLE_ACTIONS: dict[str, list[list[str]]] = json.loads((SAMPLES / "actions.json").read_text())
TOKEN = re.compile(r"[A-Za-z_$][\w$]*")


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def one_task_per_family(start: int = 900) -> list[SyntheticTask]:
    """The first task of every procedural family from seed ``start`` on (deterministic)."""
    found: dict[str, SyntheticTask] = {}
    seed = start
    while len(found) < len(FAMILIES):
        task = generate_task(seed)
        found.setdefault(task.metadata["family"], task)
        seed += 1
    return [found[name] for name in sorted(found)]


def code_names(html: str) -> tuple[set[str], set[str]]:
    """``(declared, referenced)`` names of every script, handler and ``javascript:`` URL of ``html``, by terser's parser."""
    found = scan(html)
    declared: set[str] = set()
    referenced: set[str] = set()
    pieces: list[tuple[str, bool, bool]] = [(s.code, s.module, False) for s in found.scripts]
    for tag in found.tags:
        pieces += [(tag.attrs[i][1] or "", False, True) for i in tag.handlers]
        pieces += [((tag.attrs[i][1] or "").strip()[len(JS_URL) :], False, False) for i in tag.urls]
    for code, module, handler in pieces:
        d, r = identifiers(code, module=module, handler=handler)
        declared |= d
        referenced |= r
    return declared, referenced
