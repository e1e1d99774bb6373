"""The documents' surface: how an answer carries its configuration so that neither its text nor its memory says its rung.

Every answer of a task is one program template (the same text in every answer) plus one
configuration block: which features are on, which user actions are broken, and every parameter
(sizes, colours, counts, speeds, keys, labels). Neither a reader of the document nor a bot that
runs its scripts may tell answers apart by it:

* **flags carry no readable truth value.** A generator hands :func:`seal` a *logical*
  configuration ``{"on": {feature: bool}, "broken": {action: bool}, "p": {...}}``; what the page
  holds is ``{"f": {feature: int}, "s": int, "p": {...}}``: one opaque slot per feature (on and
  broken are not named apart) and a per-answer random salt ``s``. A slot is a 31-bit integer drawn
  fresh per answer; its *on* bit is the parity of the set bits of ``(slot ^ s) & ON_MASK``, its
  *broken* bit that of ``(slot ^ s) & BROKEN_MASK``. Slot and salt are each uniform whatever the
  flags, so no value, count or pattern of the decoded object tells an on flag from an off one
  without that relation; the page's ``on(k)`` / ``live(k)`` (:data:`PRELUDE`) compute it. No
  ``true``/``false`` is anywhere in a configuration (:func:`seal` refuses booleans in ``p``).
* **it is encoded**: a small tagged binary form (:func:`serialise`), XOR-ed with a keystream of a
  per-answer seed (:mod:`dojo.obfuscation.keystream`) and base64-encoded, so no prompt number or
  word appears in the document and two answers' blocks share nothing;
* **decoding leaves no plaintext**: :data:`DECODE` is a hand-written base64 decoder and
  deserialiser straight into the object — no ``atob``, ``TextDecoder``, ``JSON.parse`` or
  ``String.fromCharCode`` over the text — so a tracer that hooks the builtins a page decodes with
  sees at most single characters;
* it travels in markup, not in code: a ``<script type="text/plain" id="dojo-config">`` element
  (never run, kept verbatim by the obfuscator), so every answer's code is byte-identical and the
  obfuscator parses a family's program once and only re-mangles it per copy;
* it is padded: after the value come random bytes, to a length drawn independently of the
  configuration (uniform above the longest configuration of the task), so the document's size,
  compressed size and counts of digits, tokens or strings are the same random draw for every rung.

The template holds :data:`MARKER` once, in its markup before its first script, where the
configuration element goes; its script starts with :data:`PRELUDE` (``const C = <DECODE>;`` and
the ``on``/``live`` helpers). :func:`seal` makes the elements and :func:`install` puts one in;
:func:`unseal` gives tests the logical configuration back. Used by the procedural and the LLM
generators alike.
"""

from __future__ import annotations

import base64
import math
import random
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from dojo.obfuscation.keystream import js_byte, xor

MARKER = "__DOJO_CONFIG__"
#: Random bytes added above the task's longest configuration: at least this many …
MIN_SPREAD = 96
#: … or this share of that length, whichever is more.
SPREAD_SHARE = 0.5

CARRIER_ID = "dojo-config"

#: Which bits of ``slot ^ salt`` hold a feature's on flag (their parity) and its broken flag.
ON_MASK = 0x55555555
BROKEN_MASK = 0x2AAAAAAA
_SLOT_BITS = 31

# tags of the binary form
_OBJ, _ARR, _STR, _UINT, _NEG, _F64, _NULL = 1, 2, 3, 4, 5, 6, 7
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

#: A JavaScript expression that evaluates to the (opaque) configuration of the page it runs in.
#: Hand-written base64 and deserialiser: no builtin sees the decoded text as one string (strings are
#: built one UTF-16 code unit at a time).
DECODE = (
    "((t) => { let k = +t.slice(0, 10), n = 0, a = 0, b = 0, p = 0; const u = new Uint8Array(t.length); "
    f'for (let i = 10; i < t.length; i++) {{ const d = "{_B64}".indexOf(t[i]); '
    "if (d < 0) continue; a = ((a << 6) | d) & 16777215; b += 6; "
    "if (b >= 8) { b -= 8; u[n] = ((a >> b) & 255) ^ " + js_byte("n", "k") + "; n++; } } "
    "const w = () => { let x = 0, m = 1, y = 128; while (y & 128) { y = u[p++]; x += (y & 127) * m; m *= 128; } return x; }; "
    "const s = () => { let r = ''; for (let j = w(); j > 0; j--) r += String.fromCharCode(w()); return r; }; "
    "const v = () => { const g = u[p++]; let o, j; "
    f"if (g === {_OBJ}) for (o = {{}}, j = w(); j > 0; j--) o[s()] = v(); "
    f"else if (g === {_ARR}) for (o = [], j = w(); j > 0; j--) o.push(v()); "
    f"else if (g === {_F64}) {{ o = new DataView(u.buffer, p, 8).getFloat64(0); p += 8; }} "
    f"else o = g === {_STR} ? s() : g === {_UINT} ? w() : g === {_NEG} ? -w() : null; "
    "return o; }; "
    f'return v(); }})(document.getElementById("{CARRIER_ID}").textContent)'
)

#: The first statements of every template's script: ``C`` (opaque), ``on(k)`` (feature ``k`` is
#: on) and ``live(k)`` (on and not broken). Programs read flags only through ``on``/``live``.
PRELUDE = (
    "const C = " + DECODE + ";\n"
    "const on = (k, m) => { let x = C.f[k]; if (typeof x !== 'number') return false; "
    "x = (x ^ C.s) & (m === " + str(BROKEN_MASK) + " ? m : " + str(ON_MASK) + "); "
    "x ^= x >>> 16; x ^= x >>> 8; x ^= x >>> 4; x ^= x >>> 2; return ((x ^ (x >>> 1)) & 1) === 1; },\n"
    "  live = (k) => on(k) && !on(k, " + str(BROKEN_MASK) + ");\n"
)


# -- the binary form ------------------------------------------------------------------------------


def _varint(out: bytearray, n: int) -> None:
    while True:
        low = n & 127
        n >>= 7
        if n:
            out.append(low | 128)
        else:
            out.append(low)
            return


def _text(out: bytearray, s: str) -> None:
    units = s.encode("utf-16-le")
    _varint(out, len(units) // 2)
    for i in range(0, len(units), 2):
        _varint(out, units[i] | units[i + 1] << 8)


def _put(out: bytearray, value: Any) -> None:
    if isinstance(value, bool):
        raise TypeError("a configuration holds no booleans: flags are opaque slots, parameters numbers or strings")
    if value is None:
        out.append(_NULL)
    elif isinstance(value, int):
        if abs(value) >= 2**53:
            raise ValueError(f"integer {value} is not exact in JavaScript")
        out.append(_UINT if value >= 0 else _NEG)
        _varint(out, abs(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a configuration number must be finite, got {value}")
        out.append(_F64)
        out += struct.pack(">d", value)
    elif isinstance(value, str):
        out.append(_STR)
        _text(out, value)
    elif isinstance(value, Mapping):
        out.append(_OBJ)
        _varint(out, len(value))
        for key in sorted(value):
            if not isinstance(key, str):
                raise TypeError(f"configuration keys are strings, got {key!r}")
            _text(out, key)
            _put(out, value[key])
    elif isinstance(value, (list, tuple)):
        out.append(_ARR)
        _varint(out, len(value))
        for item in value:
            _put(out, item)
    else:
        raise TypeError(f"cannot carry {type(value).__name__} in a configuration")


def serialise(value: Any) -> bytes:
    """``value`` (nested dicts, lists, str, int, float, None; no bools) in the form :data:`DECODE` reads."""
    out = bytearray()
    _put(out, value)
    return bytes(out)


def deserialise(data: bytes) -> Any:
    """The value at the start of ``data`` (what follows it is padding)."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        x = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            x |= (byte & 127) << shift
            shift += 7
            if not byte & 128:
                return x

    def text() -> str:
        units = [varint() for _ in range(varint())]
        return b"".join(u.to_bytes(2, "little") for u in units).decode("utf-16-le")

    def value() -> Any:
        nonlocal pos
        tag = data[pos]
        pos += 1
        if tag == _OBJ:
            return {text(): value() for _ in range(varint())}
        if tag == _ARR:
            return [value() for _ in range(varint())]
        if tag == _STR:
            return text()
        if tag == _UINT:
            return varint()
        if tag == _NEG:
            return -varint()
        if tag == _F64:
            pos += 8
            return struct.unpack(">d", data[pos - 8 : pos])[0]
        if tag == _NULL:
            return None
        raise ValueError(f"not a configuration (tag {tag})")

    return value()


# -- flags as opaque slots -------------------------------------------------------------------------


def _parity(x: int) -> int:
    return x.bit_count() & 1


def slot(on: bool, broken: bool, salt: int, rng: random.Random) -> int:
    """A uniform 31-bit integer whose relation with ``salt`` encodes the two flags."""
    w = rng.getrandbits(_SLOT_BITS)
    if _parity(w & ON_MASK) != on:
        w ^= 1  # bit 0 is in ON_MASK only
    if _parity(w & BROKEN_MASK) != broken:
        w ^= 2  # bit 1 is in BROKEN_MASK only
    return w ^ salt


def flags(value: int, salt: int) -> tuple[bool, bool]:
    """(on, broken) of a slot, as the page's ``on``/``live`` read it."""
    w = value ^ salt
    return bool(_parity(w & ON_MASK)), bool(_parity(w & BROKEN_MASK))


def opaque(config: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """What a page holds for a logical configuration: ``{"f": slots, "s": salt, "p": parameters}``."""
    on = config.get("on", {})
    broken = config.get("broken", {})
    salt = rng.getrandbits(_SLOT_BITS)
    keys = sorted(set(on) | set(broken))
    return {
        "f": {k: slot(bool(on.get(k, False)), bool(broken.get(k, False)), salt, rng) for k in keys},
        "s": salt,
        "p": dict(config.get("p", {})),
    }


def logical(held: Mapping[str, Any]) -> dict[str, Any]:
    """The logical configuration of what a page holds (inverse of :func:`opaque`, over every slot)."""
    salt = int(held["s"])
    read = {k: flags(int(v), salt) for k, v in held["f"].items()}
    return {
        "on": {k: on for k, (on, _) in read.items()},
        "broken": {k: broken for k, (_, broken) in read.items()},
        "p": held["p"],
    }


# -- elements ------------------------------------------------------------------------------------


def seal(configs: Sequence[Mapping[str, Any]], rng: random.Random) -> list[str]:
    """One configuration element per logical configuration; :data:`DECODE` reads it back (opaque) at load time.

    All of a task's configurations must be sealed in one call: the padding is drawn above the
    longest of them, so an element's length does not depend on which configuration it holds.
    """
    plains = [serialise(opaque(c, rng)) for c in configs]
    floor = max((len(p) for p in plains), default=0)
    spread = max(MIN_SPREAD, int(floor * SPREAD_SHARE))
    out = []
    for plain in plains:
        total = floor + rng.randint(0, spread)
        padded = plain + rng.randbytes(total - len(plain))
        seed = rng.randrange(2**30, 2**31)  # always ten digits
        data = base64.b64encode(xor(padded, seed)).decode("ascii")
        out.append(f'<script type="text/plain" id="{CARRIER_ID}">{seed}{data}</script>')
    return out


def install(template: str, element: str) -> str:
    """``template`` with its one :data:`MARKER` replaced by a configuration ``element``."""
    if template.count(MARKER) != 1:
        raise ValueError(f"a program template must hold {MARKER} exactly once")
    return template.replace(MARKER, element)


def held(document: str) -> dict[str, Any]:
    """The configuration object a document's page holds (opaque flags), decoded without running JavaScript."""
    start = document.index(f'id="{CARRIER_ID}">') + len(f'id="{CARRIER_ID}">')
    text = document[start : document.index("</script>", start)]
    seed, data = int(text[:10]), text[10:]
    result: dict[str, Any] = deserialise(xor(base64.b64decode(data), seed))
    return result


def unseal(document: str) -> dict[str, Any]:
    """The logical configuration in a document or element (for tests and debugging; runs no JavaScript).

    ``{"on": …, "broken": …, "p": …}`` with ``on`` and ``broken`` over every feature slot.
    """
    return logical(held(document))
