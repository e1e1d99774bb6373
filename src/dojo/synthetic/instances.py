"""Per-miner instances of a synthetic task (DESIGN §7, no resale).

A validator never sends two miners the same synthetic task: from one task of the source it
makes each miner its own instance — the same program family and difficulty (same requested
features and ladder shape), its own parameters, seed, documents and completion ids — so one
crew's labels are worth nothing on another hotkey's copy.

``instantiate(task, seed)`` is deterministic for ``(task, seed)`` and cheap: the procedural
generator re-samples the family with a new seed; the LLM generator's tasks carry their one
program template (``metadata["template"]``), whose parameters are re-drawn, ladder re-planned and
configurations re-sealed without any model call (:func:`dojo.synthetic.llm_program.instantiate`).
"""

from __future__ import annotations

from dojo.errors import InstanceError
from dojo.synthetic.models import SyntheticTask


def instantiate(task: SyntheticTask, seed: int) -> SyntheticTask:
    """A fresh instance of ``task``'s family and difficulty for ``seed`` (a new task id, new ids, new truth)."""
    meta = task.metadata
    generator = meta.get("generator")
    n = len(task.responses)
    if generator == "procedural":
        from dojo.synthetic.procedural import generate_task

        return generate_task(seed, n, family=str(meta["family"]))
    if generator == "llm":
        from dojo.synthetic.llm_program import instantiate as instantiate_llm

        return instantiate_llm(task, seed)
    raise InstanceError(f"tasks of the {generator!r} generator cannot be instantiated per miner yet")
