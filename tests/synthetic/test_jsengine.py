"""V8 contexts made inside an event loop must close cleanly after that loop is gone (no hang)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SNIPPET = textwrap.dedent(
    """
    import asyncio, gc
    from dojo.synthetic import validation
    from dojo.obfuscation import obfuscate_html

    async def inside_a_loop():
        assert validation.js_syntax_error("let x = 1;") is None
        assert "x" not in obfuscate_html("<script>let longName = 1; console.log(longName)</script>", 1)[:0]

    asyncio.run(inside_a_loop())          # the loop that was running is closed now
    validation._local.racer = None        # drop the context: the collector closes it
    gc.collect()
    print("closed")
    """
)


def test_contexts_close_after_their_loop_is_gone() -> None:
    r = subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "closed" in r.stdout
