"""Wrapping a whole document so its markup is not plain text in the payload.

The wrapped document is a doctype, a charset and one small loader script holding the original
document as base64 of its UTF-8 bytes XOR-ed with a seeded keystream
(:mod:`dojo.obfuscation.keystream`: pseudo-random bytes, never a repeating key, so the payload
looks random to a compressor and its compressed size follows its length only). At load time the loader decodes it
and ``document.write``s it into the parser at its own position: the browser then parses the
original markup and runs its scripts exactly as if it had been served directly (same elements,
ids, attributes, handlers, script order, ``DOMContentLoaded`` and ``load``). The loader removes
its own element and the charset ``<meta>`` before it first, so the DOM the page sees is the
original one. It uses no ``eval``, so a
Content-Security-Policy of ``script-src 'unsafe-inline'`` is enough.
"""

from __future__ import annotations

import base64
import random
import string

from dojo.obfuscation.keystream import js_byte, xor

_NAME_POOL = string.ascii_letters.replace("x", "")  # x is the keystream expression's own parameter

_LOADER = (
    '(function({P},{K}){{var {d}=document,{c}={d}.currentScript,{s}=atob({P}.join("")),{n}={s}.length,'
    "{b}=new Uint8Array({n}),{i}=0;for(;{i}<{n};{i}++){b}[{i}]={s}.charCodeAt({i})^{byte};"
    "{c}.previousSibling&&{c}.previousSibling.remove();{c}.remove();{d}.write(new TextDecoder().decode({b}))}})({chunks},{seed})"
)


def _chunks(text: str, rng: random.Random) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        size = rng.randint(256, 2048)
        out.append(text[pos : pos + size])
        pos += size
    return out or [""]


def wrap_document(body: str, doctype: str, rng: random.Random) -> str:
    """A document that, when loaded, becomes ``doctype + body`` (``body`` = the document minus its doctype)."""
    seed = rng.randrange(2**30, 2**31)
    encoded = base64.b64encode(xor(body.encode("utf-8", "surrogatepass"), seed)).decode("ascii")
    names = rng.sample(_NAME_POOL, 8)
    chunks = "[" + ",".join(f'"{c}"' for c in _chunks(encoded, rng)) + "]"
    loader = _LOADER.format(
        P=names[0],
        K=names[1],
        d=names[2],
        c=names[3],
        s=names[4],
        n=names[5],
        b=names[6],
        i=names[7],
        byte=js_byte(names[7], names[1]),
        chunks=chunks,
        seed=seed,
    )
    return f'{doctype}<meta charset="utf-8"><script>{loader}</script>'


def unwrap_document(wrapped: str) -> str:
    """The document a wrapped one writes at load time (for tests and debugging; does not run the loader)."""
    script = wrapped[wrapped.index("<script>") + len("<script>") : wrapped.rindex("</script>")]
    tail = script[script.rindex("})([") + 3 :]
    chunk_part, seed_part = tail[1:].rsplit("],", 1)
    encoded = "".join(part.strip('"') for part in chunk_part.split(",")) if chunk_part else ""
    seed = int(seed_part.rstrip(")"))
    return xor(base64.b64decode(encoded), seed).decode("utf-8", "surrogatepass")
