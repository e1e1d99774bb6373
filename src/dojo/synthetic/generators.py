"""Which generator a service uses (auto | procedural | llm), with a clear fallback to procedural."""

from __future__ import annotations

import logging
import random
import threading
from typing import Protocol

import httpx

from dojo.config import SyntheticSettings
from dojo.errors import DocumentError, DojoError
from dojo.logs import log
from dojo.synthetic.models import SyntheticTask
from dojo.synthetic.procedural import generate_task
from dojo.synthetic.validation import documents_errors

logger = logging.getLogger(__name__)
MODES = ("auto", "procedural", "llm")


class Generator(Protocol):
    """Anything that makes one validated task per call (synchronous: services call it in a thread)."""

    name: str

    def generate(self) -> SyntheticTask: ...


class ProceduralGenerator:
    """Procedural tasks on consecutive seeds from ``seed`` (random when None); every document validated."""

    name = "procedural"

    def __init__(self, seed: int | None = None, n_responses: int = 4) -> None:
        self._next = seed if seed is not None else random.SystemRandom().randrange(2**62)
        self._lock = threading.Lock()
        self.n = n_responses

    def generate(self) -> SyntheticTask:
        with self._lock:
            seed, self._next = self._next, self._next + 1
        task = generate_task(seed, self.n)
        for err in documents_errors([r.content for r in task.responses]):
            if err is not None:
                raise DocumentError(f"procedural seed {seed} made an invalid document: {err}")
        return task


class FallbackGenerator:
    """Tries ``primary``; when it fails, logs why and makes the task with ``fallback`` instead."""

    def __init__(self, primary: Generator, fallback: Generator) -> None:
        self.primary, self.fallback = primary, fallback
        self.name = primary.name
        self.fallbacks = 0

    def generate(self) -> SyntheticTask:
        try:
            return self.primary.generate()
        except Exception as exc:  # noqa: BLE001 - any primary failure means: use the fallback for this task
            self.fallbacks += 1
            log(
                logger,
                "synthetic.primary_failed",
                logging.WARNING,
                generator=self.primary.name,
                fallback=self.fallback.name,
                error=str(exc)[:200],
            )
            return self.fallback.generate()


def probe_endpoint(base_url: str, api_key: str, timeout: float = 5.0) -> str | None:
    """Why the OpenAI-compatible endpoint is unusable (unreachable, key refused), or None when it answers."""
    url = base_url.rstrip("/") + "/models"
    try:
        reply = httpx.get(url, headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout)
    except httpx.HTTPError as exc:
        return f"the LLM endpoint {base_url} is unreachable ({type(exc).__name__}: {exc})"
    if reply.status_code in (401, 403):
        return f"the LLM endpoint {base_url} refused the API key (HTTP {reply.status_code})"
    return None


def make_generator(s: SyntheticSettings, probe: bool = True) -> Generator:
    """The generator for ``s.generator``; llm without a key or with a dead endpoint warns once and uses procedural."""
    mode = s.generator.strip().lower()
    if mode not in MODES:
        raise DojoError(f"unknown synthetic generator {s.generator!r}: expected one of {', '.join(MODES)}")
    procedural = ProceduralGenerator(s.seed)
    if mode == "procedural":
        return procedural
    if not s.llm_api_key:
        if mode == "llm":
            log(
                logger,
                "synthetic.generator_fallback",
                logging.WARNING,
                wanted="llm",
                using="procedural",
                reason="no API key: set DOJO_SYNTHETIC_LLM_API_KEY",
            )
        return procedural
    if probe:
        problem = probe_endpoint(s.llm_base_url, s.llm_api_key, timeout=min(10.0, s.llm_timeout_s))
        if problem:
            log(
                logger, "synthetic.generator_fallback", logging.WARNING, wanted=mode, using="procedural", reason=problem
            )
            return procedural
    from dojo.synthetic.llm import LLMGenerator

    return FallbackGenerator(LLMGenerator(s), procedural)
