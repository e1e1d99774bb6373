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


RACE = textwrap.dedent(
    """
    import threading
    from dojo.obfuscation import obfuscate_html
    from dojo.synthetic.validation import js_syntax_error

    out = []
    def obfuscate(): out.append(len(obfuscate_html("<script>let longName = 1; console.log(longName)</script>", 1)) > 0)
    def validate(): out.append(js_syntax_error("let x = 1;") is None)
    threads = [threading.Thread(target=obfuscate if i % 2 else validate) for i in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    print("ok" if all(out) and len(out) == 8 else "bad")
    """
)


def test_contexts_created_from_many_threads_at_once_in_a_fresh_process() -> None:
    """V8's one-time set-up must not run twice at once: without the lock in dojo.jsengine about one
    fresh process in eight aborted here (SIGTRAP, "Check failed: !IsConfigurablePoolInitialized()")."""
    for _ in range(6):
        r = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-2000:]
        assert "ok" in r.stdout
