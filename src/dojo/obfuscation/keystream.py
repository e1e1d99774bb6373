"""A counter-mode keystream that Python (NumPy, vectorised) and a page's JavaScript compute alike.

Byte ``i`` of the stream for ``seed`` is the low byte of murmur3's 32-bit finaliser applied to
``i * 0x9E3779B1 + seed``: no state runs from one byte to the next, so NumPy computes a whole
stream at once and the JavaScript loop (:func:`js_byte`) needs no table. XOR-ing a document with
it leaves bytes that look random to a compressor, so a payload's compressed size follows its
length only. This hides text from a casual reader; it is not cryptography.
"""

from __future__ import annotations

import numpy as np


def js_byte(i: str, k: str) -> str:
    """A JavaScript expression: the keystream byte of counter variable ``i`` for seed variable ``k``."""
    return (
        "((x) => (x ^= x >>> 16, x = Math.imul(x, 0x85ebca6b), x ^= x >>> 13, x = Math.imul(x, 0xc2b2ae35), "
        f"(x ^ (x >>> 16)) & 255))((Math.imul({i}, 0x9e3779b1) + {k}) | 0)"
    )


#: :func:`js_byte` over variables named ``i`` and ``k``.
JS_BYTE = js_byte("i", "k")


def keystream(seed: int, n: int) -> np.ndarray:
    """``n`` keystream bytes for ``seed`` (0 ≤ seed < 2**31) as a uint8 array."""
    x = np.arange(n, dtype=np.uint32) * np.uint32(0x9E3779B1) + np.uint32(seed)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x85EBCA6B)
    x ^= x >> np.uint32(13)
    x *= np.uint32(0xC2B2AE35)
    x ^= x >> np.uint32(16)
    return (x & np.uint32(255)).astype(np.uint8)


def xor(data: bytes, seed: int) -> bytes:
    """``data`` XOR the keystream of ``seed`` (its own inverse)."""
    if not data:
        return data
    return (np.frombuffer(data, dtype=np.uint8) ^ keystream(seed, len(data))).tobytes()
