"""Each miner's own copy of a task: shuffled, fresh ids, obfuscated, no model names, no ground truth.

Randomness comes from the OS CSPRNG in production. With a seed (tests, reproducible local
networks) it comes from a generator keyed by ``(seed, task, miner)``, so the same copy is built
again after a restart and no two miners share an order or ids.

A copy is built the same way whatever the task's source: a synthetic instance and a shared
external task give payloads of one shape (same fields in the same order, UUIDv4 ids, the same
obfuscation), so nothing in a copy says which kind it is.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dojo import protocol
from dojo.synthetic.models import rng_uuid
from dojo.validator import procpool
from dojo.validator.store.records import MinerTarget, NewAssignment, NewTask

Obfuscator = Callable[[str, int], str]


def default_obfuscator() -> Obfuscator:
    """The real obfuscation (imported lazily: it loads a JavaScript toolchain)."""
    from dojo.obfuscation import obfuscate_html  # type: ignore[attr-defined,unused-ignore]

    return obfuscate_html


def keyed_rng(seed: int | None, purpose: str, *parts: object) -> random.Random:
    """A random source for one decision: CSPRNG without a seed, a generator keyed by ``(seed, purpose, parts)`` with one."""
    if seed is None:
        return random.SystemRandom()
    digest = hashlib.sha256("|".join([purpose, str(seed), *map(str, parts)]).encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


def copy_rng(seed: int | None, task_id: str, hotkey: str) -> random.Random:
    """The random source for one copy: CSPRNG without a seed, a keyed generator with one."""
    return keyed_rng(seed, "dojo-copy", task_id, hotkey)


@dataclass(frozen=True)
class CopyPlan:
    """A built copy: the wire payload (without ``expire_at``) and the id mapping back."""

    miner_task_id: str
    completion_map: dict[str, str]
    payload: dict[str, Any]


def build_copy(task: NewTask, hotkey: str, rng: random.Random, obfuscate: Obfuscator | None) -> CopyPlan:
    """One miner's copy of ``task``; the result passes :class:`dojo.protocol.Task` validation."""
    order = list(range(len(task.responses)))
    rng.shuffle(order)
    miner_task_id = str(rng_uuid(rng))
    responses, mapping = [], {}
    for i in order:
        original = task.responses[i]
        cid = str(rng_uuid(rng))
        mapping[cid] = str(original["completion_id"])
        seed = rng.getrandbits(63)
        content = obfuscate(original["content"], seed) if obfuscate else original["content"]
        # only the id and the content travel: the model name and the ladder step stay here
        responses.append({"completion_id": cid, "content": content})
    payload = {
        "task_id": miner_task_id,  # the wire's name for the copy's id (dojo.protocol's docstring)
        "prompt": task.prompt,
        "responses": responses,
        "criteria": task.criteria.model_dump(mode="json"),
    }
    return CopyPlan(miner_task_id=miner_task_id, completion_map=mapping, payload=payload)


def wire_task(payload: dict[str, Any], expire_at: datetime) -> protocol.Task:
    """The validated wire model of a stored copy with its deadline."""
    return protocol.Task.model_validate({**payload, "expire_at": expire_at})


def plan_copies(
    pairs: list[tuple[NewTask, MinerTarget]],
    seed: int | None,
    expire_at: datetime,
    obfuscate: Obfuscator | None,
    workers: int | None = None,
    processes: int | None = None,
) -> list[NewAssignment]:
    """The copy of each ``(task, miner)`` pair, in the order given (CPU work: call it in a thread).

    Copies are independent (each has its own random source), so where they are built does not
    change them. A large round with a real obfuscator is built on the lasting process pool
    (:mod:`dojo.validator.procpool`; ``processes``: its size, default one per CPU, 0 for none);
    otherwise on a small thread pool (``workers`` threads): the obfuscator runs in V8 outside the
    GIL, one context per thread.
    """
    one = functools.partial(_plan_one, seed=seed, expire_at=expire_at, obfuscate=obfuscate)
    n_proc = procpool.use_processes(processes, len(pairs), obfuscate) if obfuscate is not None else 0
    if n_proc:
        built = procpool.map_ordered(one, pairs, n_proc)
        if built is not None:
            return built
    n = workers if workers is not None else min(4, os.cpu_count() or 1)
    if n <= 1 or len(pairs) < 2:
        return [one(p) for p in pairs]
    return list(_pool(n).map(one, pairs))


def _plan_one(
    pair: tuple[NewTask, MinerTarget], seed: int | None, expire_at: datetime, obfuscate: Obfuscator | None
) -> NewAssignment:
    task, miner = pair
    plan = build_copy(task, miner.hotkey, copy_rng(seed, task.id, miner.hotkey), obfuscate)
    wire_task(plan.payload, expire_at)  # fail here, not at the miner, if a copy is malformed
    return NewAssignment(
        task_id=task.id,
        miner=miner,
        miner_task_id=plan.miner_task_id,
        completion_map=plan.completion_map,
        payload=plan.payload,
        expire_at=expire_at,
    )


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(n: int) -> ThreadPoolExecutor:
    """A lasting pool per size: its threads keep their JavaScript contexts warm between rounds."""
    with _POOLS_LOCK:
        if n not in _POOLS:
            _POOLS[n] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="dojo-copies")
        return _POOLS[n]
