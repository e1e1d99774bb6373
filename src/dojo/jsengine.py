"""Embedded V8 (mini-racer) contexts that are safe to create from any thread and to close anywhere.

A ``MiniRacer`` binds to the asyncio loop running in the thread that creates it, if any. When that
loop is later closed (a finished request, a finished test), closing the context — which the
garbage collector does at an arbitrary moment — waits on the dead loop forever. Creating every
context from a fresh thread gives it a private loop thread instead, so it can be used and closed
from anywhere. Every context is also closed at exit: one left open hangs interpreter shutdown.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from typing import Any

_live: weakref.WeakSet[Any] = weakref.WeakSet()
# V8's process-wide set-up is not safe to run from two threads at once (it aborts with
# "Check failed: !IsConfigurablePoolInitialized()"), so contexts are created one at a time.
_create_lock = threading.Lock()


def new_racer() -> Any:
    """A ``MiniRacer`` with its own event loop thread (raises what the engine raised, if it fails)."""
    from py_mini_racer import MiniRacer

    box: list[Any] = []

    def make() -> None:
        try:
            box.append(MiniRacer())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box.append(exc)

    with _create_lock:
        maker = threading.Thread(target=make, name="dojo-v8-init")
        maker.start()
        maker.join()
    if isinstance(box[0], BaseException):
        raise box[0]
    _live.add(box[0])
    return box[0]


def forget(ctx: Any) -> None:
    """Close ``ctx`` now and stop tracking it."""
    _live.discard(ctx)
    ctx.close()


@atexit.register
def _close_all() -> None:
    for ctx in list(_live):
        ctx.close()
