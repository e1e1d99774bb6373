"""A lasting pool of worker processes for the CPU work of planning a round: instances and copies.

At 256 miners a round's plan is about a thousand instances and a thousand obfuscated copies, some
25 CPU-seconds, most of it in V8 (terser) and the rest in Python (markup scanning, generation).
Threads run the V8 part side by side but queue on the GIL for the Python part; processes run both
in parallel, one per CPU. Results are the same as in one process: every instance and copy takes
its randomness from its own keyed source, never from where or in which order it was built.

The processes start with ``spawn`` (the parent runs V8 threads, which a fork would copy half-way
through their work) and last between rounds, each keeping its V8 context and parsed code warm. A
pool that breaks (a worker killed, e.g. by the OOM killer) is dropped; the caller then does the
work in its own process, and the next round starts a new pool.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from dojo.logs import log

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: Fewer items than this are built in the calling process: a pool costs more than it saves there.
MIN_ITEMS = 64
#: Chunks per process in one map: small enough to balance the load, large enough to batch the pickling.
CHUNKS_PER_PROCESS = 8

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_size = 0


def cpu_count() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_processes() -> int:
    """Processes a round's plan uses by default: one per CPU, none on a single CPU."""
    n = cpu_count()
    return n if n > 1 else 0


def use_processes(processes: int | None, n_items: int, fn: Any = None) -> int:
    """How many processes to spread ``n_items`` over (0: do them here); ``fn`` must pickle to travel."""
    n = default_processes() if processes is None else processes
    if n <= 1 or n_items < MIN_ITEMS:
        return 0
    if fn is not None:
        try:
            pickle.dumps(fn)
        except Exception:  # noqa: BLE001 - a lambda or a closure: it cannot reach another process
            return 0
    return n


def _exit_with(parent: int) -> None:
    """Exit once ``parent`` is gone: a worker holds its own end of the task queue, so it would not see
    the queue close when the validator is killed, and would wait on it for ever."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _init() -> None:
    """Each worker loads the JavaScript toolchain once, before its first document, and watches its parent."""
    # Ctrl-C reaches the whole process group: the validator stops the pool itself, so a worker does
    # not print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True, name="dojo-parent-watch").start()
    try:
        from dojo.obfuscation import warm_up

        warm_up()
    except Exception:  # noqa: BLE001 - the first real call reports the failure, with its document
        pass


def pool(n: int) -> ProcessPoolExecutor:
    """The lasting pool of ``n`` processes (a pool of another size is shut down and replaced)."""
    global _pool, _size
    with _lock:
        if _pool is None or _size != n:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            _pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"), initializer=_init)
            _size = n
        return _pool


def warm(n: int | None = None) -> int:
    """Start the pool's processes now (so the first round does not pay for it); returns their number."""
    n = default_processes() if n is None else n
    if n <= 1:
        return 0
    ex = pool(n)
    list(ex.map(_pid, range(n * 4), chunksize=1))  # the processes have started and run their initializer
    return n


def shutdown() -> None:
    """Stop the pool's processes (they are started again on next use)."""
    global _pool, _size
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
        _pool, _size = None, 0


def _drop(broken: ProcessPoolExecutor) -> None:
    global _pool, _size
    with _lock:
        if _pool is broken:
            _pool, _size = None, 0
    broken.shutdown(wait=False, cancel_futures=True)


def _pid(_: int) -> int:
    return os.getpid()


class WorkerError(RuntimeError):
    """An error raised in a worker that could not travel back to the caller as itself (it does not pickle)."""


def _call(fn: Callable[[T], R], item: T) -> R:
    try:
        return fn(item)
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # noqa: BLE001 - it would break the pool on its way back; send its text instead
            raise WorkerError(f"{type(exc).__name__}: {exc}") from None
        raise


class _Each:
    """``fn`` over one chunk (a picklable callable, unlike a closure)."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, chunk: Sequence[Any]) -> list[Any]:
        return [_call(self.fn, item) for item in chunk]


def map_ordered(fn: Callable[[T], R], items: Sequence[T], n: int) -> list[R] | None:
    """``[fn(item) for item in items]`` over ``n`` processes, in order; None when the pool broke.

    ``fn`` must be picklable (a module-level function, or a ``functools.partial`` of one). An
    exception ``fn`` raises is raised here, as in a loop.
    """
    if not items:
        return []
    ex = pool(n)
    size = max(1, -(-len(items) // (n * CHUNKS_PER_PROCESS)))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    try:
        parts = list(ex.map(_Each(fn), chunks))
    except BrokenProcessPool as exc:
        log(logger, "plan.pool_broken", level=logging.WARNING, processes=n, error=str(exc)[:300])
        _drop(ex)
        return None
    return [r for part in parts for r in part]
