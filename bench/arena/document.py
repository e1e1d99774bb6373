"""One document at a time: tokens, surface counts, structure, wiring, and what the prompt names in it."""

from __future__ import annotations

import base64
import binascii
import bz2
import re
import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

# --- tokens -----------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_NUMBER = re.compile(r"(?<![\w#$.])(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)(?![\d.])")
_STRING = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`")
_TAG = re.compile(r"<([A-Za-z][\w-]*)")
_ATTR = re.compile(r"\s[\w:-]+=")
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")
_WORD = re.compile(r"[a-z]{3,}")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_KEYWORD = re.compile(r"\b(?:function|const|let|var|if|else|for|while|return|new|this|=>)\b|=>")
_CALL = re.compile(r"\.[A-Za-z_$][\w$]*\(")
_HANDLER = re.compile(r"\son[a-z]+=|addEventListener\(")
_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.IGNORECASE | re.DOTALL)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)
_MARKUP = re.compile(r"<[^>]*>")
_MARKUP_ID = re.compile(r"\sid\s*=\s*[\"']?([\w-]+)")
_ID_REF = re.compile(r"(?:getElementById\(\s*|querySelector(?:All)?\(\s*[\"'`]#)[\"'`]?([\w-]+)")
_BASE64 = re.compile(r"[\"'`]([A-Za-z0-9+/]{16,}={0,2})[\"'`]")
_KEY_IN_PROMPT = re.compile(r"\b(?:the\s+)?([A-Za-z0-9])\s+key\b|\bkey\s+([A-Za-z0-9])\b")
_STOP = frozenset(
    "the and with for that this from each one are its all per any into when then than not out off has "
    "inline only write self contained html page css javascript external files network requests".split()
)


def canonical_number(text: str) -> str:
    """``"0.60"``, ``".6"`` and ``"6e-1"`` all as ``"0.6"``: minifiers rewrite number literals."""
    try:
        return f"{float(text):g}"
    except ValueError:
        return text


def numbers(text: str) -> list[str]:
    """Every number literal in ``text``, canonical."""
    return [canonical_number(m) for m in _NUMBER.findall(text)]


def split_camel(text: str) -> str:
    """``showTrails`` as ``show Trails``: code names hold words a prompt uses."""
    return _CAMEL.sub(" ", text)


def words(text: str) -> set[str]:
    """Lower-case words of three letters or more, camelCase split (``showTrails`` → show, trails)."""
    return set(_WORD.findall(split_camel(text).lower())) - _STOP


def tokens(text: str) -> set[str]:
    """Words, canonical numbers and colours: the vocabulary the cross-answer features compare."""
    return words(text) | set(numbers(text)) | {c.lower() for c in _COLOUR.findall(text)}


def unwrap(doc: str) -> str:
    """The document a browser ends up with, as a bot would recover it; the document itself if not wrapped."""
    from dojo.obfuscation import unwrap_document

    try:
        return unwrap_document(doc)
    except (ValueError, IndexError, UnicodeDecodeError):
        return doc


# --- one document -----------------------------------------------------------------------------


def _entropy(text: str) -> float:
    if not text:
        return 0.0
    counts = np.fromiter(Counter(text).values(), dtype=float)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def surface(doc: str) -> dict[str, float]:
    """Size and token counts of one document, with no understanding of what it does."""
    raw = doc.encode("utf-8", "surrogatepass")
    idents = _IDENT.findall(doc)
    nums = numbers(doc)
    tags = _TAG.findall(doc)
    z = len(zlib.compress(raw, 9))
    return {
        "chars": len(doc),
        "lines": doc.count("\n") + 1,
        "zlib": z,
        "bz2": len(bz2.compress(raw, 9)),
        "zlib_ratio": z / max(1, len(raw)),
        "entropy": _entropy(doc),
        "idents": len(idents),
        "distinct_idents": len(set(idents)),
        "numbers": len(nums),
        "distinct_numbers": len(set(nums)),
        "strings": len(_STRING.findall(doc)),
        "tags": len(tags),
        "distinct_tags": len({t.lower() for t in tags}),
        "attrs": len(_ATTR.findall(doc)),
        "keywords": len(_KEYWORD.findall(doc)),
        "calls": len(_CALL.findall(doc)),
        "punct": sum(doc.count(c) for c in ";{}()[],"),
        "spaces": len(doc) - len("".join(doc.split())),
    }


def structure(doc: str) -> dict[str, float]:
    """How an (unwrapped) document splits into script, style, markup and visible text."""
    script = "".join(_SCRIPT.findall(doc))
    style = "".join(_STYLE.findall(doc))
    text = _MARKUP.sub(" ", _STYLE.sub(" ", _SCRIPT.sub(" ", doc)))
    colours = [c.lower() for c in _COLOUR.findall(doc)]
    return {
        "script_chars": len(script),
        "style_chars": len(style),
        "markup_chars": len(doc) - len(script) - len(style),
        "text_chars": len(" ".join(text.split())),
        "script_share": len(script) / max(1, len(doc)),
        "handlers": len(_HANDLER.findall(doc)),
        "ids": doc.count(' id="') + doc.count(" id='"),
        "buttons": doc.lower().count("<button"),
        "inputs": doc.lower().count("<input"),
        "colours": len(colours),
        "distinct_colours": len(set(colours)),
        "css_rules": style.count("{"),
    }


def wiring(doc: str) -> dict[str, float]:
    """Static wiring check of an (unwrapped) document: controls no script mentions, ids no element has.

    A broken user action often leaves a button that nothing listens to; string literals survive
    mangling, so a bot can look for each element id in the scripts.
    """
    scripts = "\n".join(_SCRIPT.findall(doc))
    markup = _SCRIPT.sub(" ", doc)
    ids = set(_MARKUP_ID.findall(markup))
    literals = "\n".join(_STRING.findall(scripts))
    referenced = set(_ID_REF.findall(scripts))
    button_ids = set(re.findall(r"<(?:button|input|select)\b[^>]*\sid\s*=\s*[\"']?([\w-]+)", markup))
    return {
        "dead_ids": sum(1 for i in ids if i not in literals),
        "dead_controls": sum(1 for i in button_ids if i not in literals),
        "ghost_ids": len(referenced - ids),
    }


def decoded_literals(doc: str) -> str:
    """Text of every base64-looking string literal, decoded (a bot's first guess at an encoded block)."""
    out = []
    for m in _BASE64.findall(doc):
        try:
            out.append(base64.b64decode(m + "=" * (-len(m) % 4), validate=True).decode("utf-8", "ignore"))
        except (ValueError, binascii.Error):
            continue
    return "\n".join(out)


@dataclass(frozen=True)
class PromptAsks:
    """What the prompt names that an answer could contain verbatim."""

    numbers: frozenset[str]
    colours: frozenset[str]
    words: frozenset[str]
    labels: frozenset[str]  # capitalised words: button names, titles
    keys: frozenset[str]  # single keys ("the M key")

    @classmethod
    def of(cls, prompt: str) -> PromptAsks:
        keys = {(a or b).lower() for a, b in _KEY_IN_PROMPT.findall(prompt)}
        labels = {w for w in re.findall(r"\b[A-Z][a-z]{2,}\b", prompt)} - {"Write", "Features", "User", "Each", "Every"}
        return cls(
            numbers=frozenset(numbers(prompt)),
            colours=frozenset(c.lower() for c in _COLOUR.findall(prompt)),
            words=frozenset(words(prompt)),
            labels=frozenset(labels),
            keys=frozenset(keys),
        )


def runtime_hits(strings: list[str], asks: PromptAsks) -> dict[str, float]:
    """What the strings a document decodes at start-up say (see :mod:`arena.runtime`)."""
    from .runtime import decoded_json, flatten

    text = "\n".join(s.split("\x00", 1)[0] for s in strings)
    flat = [t for value in decoded_json(strings) for t in flatten(value)]
    return {
        "run_decoded": len(strings),
        "run_chars": len(text),
        "run_prompt_numbers": len(asks.numbers & set(numbers(text))),
        "run_prompt_words": len(asks.words & words(text)),
        "run_true": sum(t.endswith("=true") for t in flat),
        "run_false": sum(t.endswith("=false") for t in flat),
        "run_values": len(flat),
    }


def prompt_hits(doc: str, asks: PromptAsks) -> dict[str, float]:
    """How much of what the prompt names is found in the (unwrapped) document."""
    doc_numbers = set(numbers(doc))
    doc_colours = {c.lower() for c in _COLOUR.findall(doc)}
    doc_words = words(doc)
    literals = {s[1:-1].lower() for s in _STRING.findall(doc)}
    key_hits = sum(1 for k in asks.keys if k in literals or f"key{k}" in literals or f"digit{k}" in literals)
    found = {
        "prompt_numbers": len(asks.numbers & doc_numbers),
        "prompt_colours": len(asks.colours & doc_colours),
        "prompt_words": len(asks.words & doc_words),
        "prompt_labels": sum(1 for w in asks.labels if w in doc),
        "prompt_keys": key_hits,
    }
    found["prompt_numbers_frac"] = found["prompt_numbers"] / max(1, len(asks.numbers))
    found["prompt_words_frac"] = found["prompt_words"] / max(1, len(asks.words))
    decoded = decoded_literals(doc)
    found["decoded_prompt_numbers"] = len(asks.numbers & set(numbers(decoded)))
    found["decoded_prompt_words"] = len(asks.words & words(decoded))
    found["foreign_numbers"] = len(doc_numbers - asks.numbers)
    found["foreign_colours"] = len(doc_colours - asks.colours)
    return found
