"""The embedded JavaScript toolchain: terser (vendored browser build) in a per-thread V8 context.

No Node.js at run time: ``py_mini_racer`` embeds V8. Loading terser's 1 MB bundle costs tens of
milliseconds, so each thread keeps one context with terser and our glue already compiled, and
every document afterwards is a single call into it.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from py_mini_racer import JSOOMException, MiniRacer

from dojo import jsengine
from dojo.errors import ObfuscationError

#: The vendored terser release (see vendor/VENDOR.md).
TERSER_VERSION = "5.51.4"
#: Seconds one document may take in V8 before we give up on it.
CALL_TIMEOUT_S = 20.0
#: V8 heap a context may use (terser needs ~20 MB for ordinary documents).
HEAP_LIMIT_BYTES = 512 * 1024 * 1024

_local = threading.local()


@dataclass
class MinifiedParts:
    """What terser made of one document's code. ``None`` = leave that piece unchanged (it does not parse)."""

    scripts: list[str | None]
    handlers: list[str | None]
    renamed: int = 0
    errors: list[str] = field(default_factory=list)


def _source(*parts: str) -> str:
    return resources.files("dojo.obfuscation").joinpath(*parts).read_text(encoding="utf-8")


def _new_racer() -> MiniRacer:
    """A MiniRacer with its own event loop thread (see ``dojo.jsengine``)."""
    try:
        return jsengine.new_racer()
    except BaseException as exc:
        raise ObfuscationError(f"could not start the embedded JavaScript engine: {exc}") from exc


def _context() -> MiniRacer:
    """This thread's V8 context with terser and the glue loaded (created on first use)."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        ctx = _new_racer()
        ctx.set_hard_memory_limit(HEAP_LIMIT_BYTES)
        ctx.eval(_source("vendor", "terser.js"))
        ctx.eval(_source("js", "glue.js"))
        _local.ctx = ctx
    return ctx


def _call(fn: str, *args: Any) -> Any:
    ctx = _context()
    try:
        out = ctx.call(fn, *args, timeout_sec=CALL_TIMEOUT_S)
    except Exception as exc:  # the V8 binding raises its own types (timeouts, JS errors, OOM)
        if isinstance(exc, JSOOMException):
            # A heap that hit its limit is not trusted again: the next call starts a fresh context.
            _local.ctx = None
            jsengine.forget(ctx)
        raise ObfuscationError(f"JavaScript toolchain failed in {fn}: {exc}") from exc
    return json.loads(out)


def minify_parts(
    scripts: list[tuple[str, bool]],
    handlers: list[str],
    seed: int,
    *,
    compress: bool = False,
    reserved: tuple[str, ...] = (),
    plain_from: int | None = None,
    key: str | None = None,
) -> MinifiedParts:
    """Minify and mangle one document's scripts ``(code, is_module)`` and inline handler bodies together.

    Top-level names are renamed consistently across all pieces; ``seed`` picks the names.
    ``reserved`` names are never renamed (and never used as new names). Scripts from index
    ``plain_from`` on are never compressed (``javascript:`` URLs, whose completion value matters).
    ``key`` identifies the pieces (e.g. a digest of the document): the thread's context then keeps
    a document it sees repeatedly parsed and only clones it for each new seed. The result is the
    same with or without it.
    """
    cut = len(scripts) if plain_from is None else plain_from
    payload = {
        "scripts": [
            {"code": code, "module": module, "compress": compress and i < cut}
            for i, (code, module) in enumerate(scripts)
        ],
        "handlers": handlers,
        "seed": seed & 0xFFFFFFFF,
        "compress": compress,
        "reserved": list(reserved),
        "key": None if key is None else f"{key}|{','.join(reserved)}|{cut}",
    }
    out = _call("dojoObfuscate", payload)
    return MinifiedParts(scripts=out["scripts"], handlers=out["handlers"], renamed=out["renamed"], errors=out["errors"])


def identifiers(code: str, *, module: bool = False, handler: bool = False) -> tuple[set[str], set[str]]:
    """``(declared, referenced)`` names of a piece of JavaScript, by terser's parser and scope analysis."""
    out = _call("dojoIdentifiers", code, module, handler)
    return set(out["declared"]), set(out["referenced"])


def warm_up() -> None:
    """Load the toolchain in this thread now rather than on the first document."""
    _context()
