"""Filling a validator store with scored tasks and their labels: the one helper every dataset test uses."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from dojo.validator.store.db import Database
from dojo.validator.store.models import Assignment, ExternalRequest, Result, Round, Task

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
SCORE: dict[str, Any] = {"type": "score", "min": 1, "max": 10}

#: one stored result row: ``(labeller_id, completion, value[, submitted_at])``; the completion is an index into
#: the task's responses, or a string taken as the completion id itself (one the task does not have)
Row = tuple[Any, ...]


@dataclass
class Copy:
    """One miner's copy of a task (an assignment) and the result rows it collected, in storage order."""

    rows: Sequence[Row] = ()
    hotkey: str = "5Fminer"


@dataclass
class Spec:
    """One stored task. ``labels`` is the short form: one value list per labeller (``labellers[i]``, else
    ``0x{i}``), in completion order, all in one copy; ``copies`` gives the rows of each copy exactly."""

    contents: Sequence[str]
    labels: Sequence[Sequence[float]] = ()
    criteria: dict[str, Any] | None = field(default_factory=lambda: dict(SCORE))
    labellers: Sequence[str] | None = None
    models: Sequence[str | None] | None = None  # None: "m" for every response; a None entry: no model key
    copies: Sequence[Copy] | None = None
    state: str = "scored"
    prompt: str | None = None  # None: f"make thing {i}"
    ground_truth: str = "order"  # order: ranks 0.. in response order | none | partial (the first half only)
    external: bool = False
    at: datetime | None = None  # created_at; None: T0 + i minutes


def fill_store(url: str, specs: Sequence[Spec]) -> list[str]:
    """Store one scored round holding ``specs`` (each task gets one copy even when nobody labelled it);
    returns the task ids."""
    db = Database(url)
    ids: list[str] = []
    with db.transaction() as s:
        s.add(Round(id=1, state="scored", created_at=T0))
        for i, spec in enumerate(specs):
            tid, cids = str(uuid.uuid4()), [str(uuid.uuid4()) for _ in spec.contents]
            ids.append(tid)
            at = spec.at or T0 + timedelta(minutes=i)
            models = spec.models if spec.models is not None else ["m"] * len(cids)
            responses: list[dict[str, Any]] = []
            for c, text, model in zip(cids, spec.contents, models, strict=True):
                responses.append({"completion_id": c, "content": text, **({} if model is None else {"model": model})})
            gt: dict[str, int] | None = {c: k for k, c in enumerate(cids)}
            if spec.ground_truth == "none":
                gt = None
            elif spec.ground_truth == "partial":
                gt = {c: k for k, c in enumerate(cids[: len(cids) // 2])}
            external_id = None
            prompt = spec.prompt if spec.prompt is not None else f"make thing {i}"
            if spec.external:
                external_id = str(uuid.uuid4())
                s.add(
                    ExternalRequest(
                        id=external_id,
                        client_id=f"client-{i}",
                        state="done",
                        prompt=prompt,
                        criteria=spec.criteria,
                        responses=responses,
                        created_at=at,
                        updated_at=at,
                    )
                )
            s.add(
                Task(
                    id=tid,
                    round_id=1,
                    position=i,
                    source="external" if spec.external else "synthetic",
                    state=spec.state,
                    prompt=prompt,
                    criteria=spec.criteria,
                    responses=responses,
                    ground_truth=gt,
                    created_at=at,
                    external_id=external_id,
                )
            )
            copies = spec.copies
            if copies is None:
                names = spec.labellers or [f"0x{li}" for li in range(len(spec.labels))]
                rows = [(names[li], k, v) for li, vals in enumerate(spec.labels) for k, v in enumerate(vals)]
                copies = [Copy(rows)]
            s.flush()
            for copy in copies:
                a = Assignment(
                    task_id=tid,
                    uid=1,
                    hotkey=copy.hotkey,
                    address="http://x",
                    miner_task_id=str(uuid.uuid4()),
                    completion_map={c: c for c in cids},
                    payload={},
                    expire_at=T0,
                    state="collected",
                    updated_at=T0,
                )
                s.add(a)
                s.flush()
                for labeller, completion, value, *when in copy.rows:
                    cid = cids[completion] if isinstance(completion, int) else completion
                    submitted = when[0] if when else T0
                    s.add(
                        Result(
                            assignment_id=a.id,
                            labeller_id=labeller,
                            completion_id=cid,
                            value=value,
                            submitted_at=submitted,
                        )
                    )
                s.flush()  # keep result ids in the order given
    db.dispose()
    return ids
