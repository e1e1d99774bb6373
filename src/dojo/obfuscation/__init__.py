"""Per-miner obfuscation of response documents.

``obfuscate_html(html, seed)`` returns a document that behaves exactly like ``html`` in a browser
but shares no code text with it or with another seed's copy:

* every inline script and inline event handler goes through terser (minified, identifiers
  mangled — top-level names too, renamed consistently across the document's scripts and
  handlers; names picked by the seed);
* the whole document is then wrapped: its markup travels encoded and is written back by a small
  loader at load time (:mod:`dojo.obfuscation.wrap`).

A top-level name keeps its name only where renaming could change behaviour: names in
:data:`KEEP_NAMES`, names reached as ``window.name``, globals named like window event slots
(``onload``), globals an inline handler would find on its element first (``reset``, ``clear``),
names that appear in code held in strings (``innerHTML`` markup with ``onclick``, string timers),
and every top-level name when the code looks names up dynamically (``eval``, ``with``,
``window[expr]``). Scripts that do not parse are left as they are (the browser skips them too).

Pure and deterministic for ``(html, seed)``; CPU-bound, so call it from async code with
``asyncio.to_thread``. Each thread keeps its own V8 context (:mod:`dojo.obfuscation.engine`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import urllib.parse

from dojo.errors import ObfuscationError
from dojo.logs import log
from dojo.obfuscation.engine import identifiers, minify_parts, warm_up
from dojo.obfuscation.markup import JS_URL, render_tag, scan, splice
from dojo.obfuscation.wrap import unwrap_document, wrap_document

__all__ = ["KEEP_NAMES", "ObfuscationError", "identifiers", "obfuscate_html", "unwrap_document", "warm_up"]

logger = logging.getLogger(__name__)

_DOCTYPE = re.compile(r"\ufeff?\s*(<!doctype[^>]*>)", re.IGNORECASE)
_PROLOGUE = re.compile(r"\s*(<html\b[^>]*>)?\s*(<head\b[^>]*>)?", re.IGNORECASE)

#: Global names a document's code must keep because something outside it calls them.
KEEP_NAMES: tuple[str, ...] = ("__dojoState",)


def _digest(html: str) -> str:
    return hashlib.sha256(html.encode("utf-8", "surrogatepass")).hexdigest()


def rewrite_code(html: str, seed: int, *, compress: bool = False, cache: bool = False) -> str:
    """``html`` with its scripts, handlers and ``javascript:`` URLs minified and mangled (markup untouched).

    ``cache``: let the toolchain keep the parsed code for the next call with the same code (keyed
    by the code alone, so documents that differ only in markup — the answers of one task, whose
    configuration travels in markup — share one parse).
    """
    found = scan(html)
    url_codes: list[tuple[int, int]] = []  # (tag index, attribute index)
    handler_refs: list[tuple[int, int]] = []
    handler_codes: list[str] = []
    url_sources: list[str] = []
    for t, tag in enumerate(found.tags):
        for a in tag.handlers:
            handler_refs.append((t, a))
            handler_codes.append(tag.attrs[a][1] or "")
        for a in tag.urls:
            url_codes.append((t, a))
            value = (tag.attrs[a][1] or "").strip()
            url_sources.append(urllib.parse.unquote(value[len(JS_URL) :]))
    if not found.scripts and not handler_codes and not url_sources:
        return html
    # javascript: URLs run like scripts (their declarations are global) at click time: after every script.
    pieces = [(s.code, s.module) for s in found.scripts] + [(code, False) for code in url_sources]
    key = None
    if cache:
        key = hashlib.sha256(json.dumps([pieces, handler_codes]).encode("utf-8", "surrogatepass")).hexdigest()
    out = minify_parts(
        pieces, handler_codes, seed, compress=compress, reserved=KEEP_NAMES, plain_from=len(found.scripts), key=key
    )
    if out.errors:
        log(logger, "obfuscation.kept_unparsable", level=logging.WARNING, count=len(out.errors), first=out.errors[0])
    edits: list[tuple[int, int, str]] = []
    for script, code in zip(found.scripts, out.scripts, strict=False):
        if code is not None:
            edits.append((script.start, script.end, code))
    for (t, a), code in zip(handler_refs, out.handlers, strict=False):
        if code is not None:
            found.tags[t].attrs[a] = (found.tags[t].attrs[a][0], code)
    for (t, a), code in zip(url_codes, out.scripts[len(found.scripts) :], strict=False):
        if code is not None:
            # the browser percent-decodes a javascript: URL before running it
            found.tags[t].attrs[a] = (found.tags[t].attrs[a][0], JS_URL + code.replace("%", "%25"))
    for tag in found.tags:
        edits.append((tag.start, tag.end, render_tag(tag)))
    return splice(html, edits)


def obfuscate_html(html: str, seed: int, *, compress: bool = False) -> str:
    """A copy of ``html`` that behaves the same in a browser, with code mangled and markup encoded.

    ``compress`` also runs terser's compressor (restructures code further; about twice the CPU).
    Raises :class:`ObfuscationError` only when the toolchain itself fails; scripts that do not
    parse are kept as they are (a browser does not run them either).
    """
    digest = _digest(html)
    rng = random.Random(f"dojo-obfuscation:{seed}:{digest}")
    code = rewrite_code(html, rng.getrandbits(32), compress=compress, cache=True)
    # The doctype must stay in front (it picks standards or quirks mode); a BOM would become text.
    match = _DOCTYPE.match(code)
    doctype = ""
    if match:
        doctype = match.group(1)
        code = code[match.end(1) :]
    # Written in the head, whitespace before <html>/<head> would become text nodes the original
    # never had (its parser drops it there): drop it.
    code = code.lstrip("\ufeff")
    prologue = _PROLOGUE.match(code)
    if prologue:
        code = (prologue.group(1) or "") + (prologue.group(2) or "") + code[prologue.end() :]
    return wrap_document(code, doctype, rng)
