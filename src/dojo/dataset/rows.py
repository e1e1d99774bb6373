"""Turn a batch of stored tasks and their result rows into dataset rows, column by column.

A batch is built as Arrow columns, never as one Python dict per row: the result rows are grouped
into labels with NumPy (one label = one labeller's complete answer on one miner's copy), values are
put on the common [0, 1] axis through the task's typed criterion once per distinct value, and each
nested column (``responses``, ``labels``, ``aggregate``, …) is an Arrow list of structs made from
flat arrays and offsets. Timestamps stay as the store's raw values until Arrow parses them.
What pairs need (the aggregate per task, its scale step) travels along in :class:`Labelled`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from dojo import scoring
from dojo.errors import DojoError
from dojo.protocol import AnyCriterion, as_criterion

_SCORE = pa.struct([("completion_id", pa.string()), ("value", pa.float64())])
_SCORES = pa.list_(_SCORE)
_RESPONSE = pa.struct([("completion_id", pa.string()), ("content", pa.string()), ("model", pa.string())])
_UTC = pa.timestamp("us", tz="UTC")
_LABEL = pa.struct(
    [("miner_hotkey", pa.string()), ("labeller_id", pa.string()), ("submitted_at", _UTC), ("scores", _SCORES)]
)
_RANK = pa.struct([("completion_id", pa.string()), ("rank", pa.int32())])

#: the task's criterion as a typed struct: ``{type: "score", min, max}`` or ``{type: "ranking"}`` (min/max null)
CRITERIA = pa.struct([("type", pa.string()), ("min", pa.int32()), ("max", pa.int32())])

TASK_SCHEMA = pa.schema(
    [
        ("task_id", pa.string()),
        ("source", pa.string()),  # synthetic | external
        ("external_id", pa.string()),  # the external request's id (null for synthetic tasks)
        ("created_at", _UTC),
        ("prompt", pa.string()),
        ("criteria", CRITERIA),
        ("responses", pa.list_(_RESPONSE)),
        ("labels", pa.list_(_LABEL)),
        ("aggregate", _SCORES),  # mean of every labeller's values, normalised to [0, 1] (1 = best)
        ("agreement", pa.float64()),  # mean pairwise Spearman between labellers mapped to [0, 1]; null below 2
        ("n_labellers", pa.int32()),
        ("ground_truth", pa.list_(_RANK)),
    ]
)


class TaskLike(Protocol):
    """The stored task's columns a row needs (a Core row of the ``tasks`` table)."""

    id: str
    source: str
    external_id: str | None
    created_at: datetime | str  # the raw stored value: SQLite keeps text, PostgreSQL a naive UTC datetime
    prompt: str
    criteria: str | Mapping[str, Any] | None  # the stored JSON, as text or parsed
    responses: list[dict[str, Any]]
    ground_truth: dict[str, int] | None


@dataclass
class Results:
    """A batch's result rows as columns, sorted by assignment then result id, and the assignments they belong to."""

    assignment_ids: Sequence[int]  # the assignments (copies) of the batch's tasks
    assignment_tasks: Sequence[str]
    assignment_hotkeys: Sequence[str]
    assignment: Sequence[int]  # per result row: its assignment id
    labeller: Sequence[str]
    completion: Sequence[str]
    value: Sequence[float]
    submitted_at: Sequence[Any]  # raw stored timestamps


@dataclass
class ShapeGroup:
    """The labelled rows of a batch with the same number of completions: their aggregate in completion order."""

    rows: np.ndarray  # [T] indices into the batch's rows
    mean: np.ndarray  # [T, C] normalised aggregate, 1 = best


@dataclass
class Labelled:
    """A batch of task rows plus what its pairs are built from."""

    table: pa.RecordBatch  # the rows (TASK_SCHEMA), labelled tasks only
    offsets: np.ndarray  # [R+1] each row's first completion in ``ids`` / ``contents``
    ids: pa.Array  # completion ids of every row, flat
    contents: pa.Array  # their contents, flat
    step: np.ndarray  # [R] one point of each task's scale on the normalised axis
    groups: list[ShapeGroup]

    def __len__(self) -> int:
        return self.table.num_rows


class _Criteria:
    """The typed criterion of each task, read once per distinct stored value."""

    def __init__(self) -> None:
        self._by_key: dict[Hashable, AnyCriterion] = {}

    def __call__(self, raw: str | Mapping[str, Any] | None, task_id: str) -> AnyCriterion:
        key: Hashable = raw
        if isinstance(raw, Mapping):
            try:
                key = tuple(sorted(raw.items()))
                hash(key)
            except TypeError:
                return self._read(raw, task_id)
        crit = self._by_key.get(key)
        if crit is None:
            crit = self._by_key[key] = self._read(raw, task_id)
        return crit

    @staticmethod
    def _read(raw: str | Mapping[str, Any] | None, task_id: str) -> AnyCriterion:
        try:
            return as_criterion(json.loads(raw) if isinstance(raw, str) else raw)
        except ValueError as exc:  # bad JSON or not a criterion (pydantic's ValidationError is a ValueError)
            raise DojoError(f"task {task_id}: the stored criteria {raw!r} are not a valid criterion: {exc}") from exc


def timestamps(raw: Sequence[Any]) -> pa.Array:
    """Stored timestamps (SQLite text or PostgreSQL's naive UTC datetimes) as an Arrow UTC timestamp array."""
    if any(isinstance(v, str) for v in raw):
        text = pa.array(raw, pa.string())
        try:
            return text.cast(pa.timestamp("us")).cast(_UTC)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a format Arrow does not parse: Python does
            raw = [None if v is None else datetime.fromisoformat(v) for v in raw]
    return pa.array(raw, _UTC)  # naive datetimes are UTC wall time, aware ones are converted


def _ragged(counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(c) for c in counts])`` without the Python loop."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def _list(counts: np.ndarray, values: pa.Array, kind: pa.DataType, mask: np.ndarray | None = None) -> pa.Array:
    """Lists of ``counts[i]`` consecutive ``values`` each (null where ``mask``)."""
    offsets = pa.array(_starts(counts).astype(np.int32))
    arr = pa.ListArray.from_arrays(offsets, values, mask=None if mask is None else pa.array(mask))
    return arr.cast(kind) if arr.type != kind else arr


def _struct(kind: pa.StructType, *columns: pa.Array) -> pa.StructArray:
    return pa.StructArray.from_arrays(columns, fields=list(kind))


def build_rows(tasks: Sequence[TaskLike], res: Results) -> Labelled:
    """The batch's rows, one per task somebody labelled completely, in the order of ``tasks``.

    A label is one labeller's answer on one copy (assignment) and counts only when it has a value for
    every completion of the task and no other; labels are listed by copy, then by the labeller's first
    result. ``aggregate`` is the mean of the labels on the [0, 1] axis of the task's criterion,
    ``agreement`` their mean pairwise agreement, exactly :func:`dojo.scoring.mean_pairwise_agreement`.
    """
    crit_of = _Criteria()
    crits = [crit_of(t.criteria, t.id) for t in tasks]
    n = np.fromiter((len(t.responses) for t in tasks), dtype=np.int64, count=len(tasks))
    first = _starts(n)
    ids = [str(r["completion_id"]) for t in tasks for r in t.responses]
    lab = _labels(tasks, res, n, first, ids)
    rows = np.flatnonzero(lab.per_task > 0)
    r_labels, r_n = lab.per_task[rows], n[rows]
    unit = _units(lab.values, np.repeat(lab.task, n[lab.task]), crits, n)
    means, agreement, groups = _aggregate(unit, r_labels, r_n)

    ids_arr = pa.array(ids, pa.string())
    r_first = _starts(r_n)
    r_ids = ids_arr.take(pa.array(np.repeat(first[rows], r_n) + _ragged(r_n)))
    picked = [tasks[k] for k in rows.tolist()]
    r_crits = [crits[k] for k in rows.tolist()]
    contents = pa.array([r["content"] for t in picked for r in t.responses], pa.string())
    models = pa.array([r.get("model") for t in picked for r in t.responses], pa.string())
    l_n = n[lab.task]
    scores = _struct(
        _SCORE,
        ids_arr.take(pa.array(np.repeat(first[lab.task], l_n) + _ragged(l_n))),
        pa.array(lab.values, pa.float64()),
    )
    labels = _struct(
        _LABEL,
        pa.array(res.assignment_hotkeys, pa.string()).take(pa.array(lab.copy)),
        lab.labeller,
        timestamps([res.submitted_at[i] for i in lab.first_row.tolist()]),
        _list(l_n, scores, _SCORES),
    )
    columns = [
        pa.array([str(t.id) for t in picked], pa.string()),
        pa.array([t.source for t in picked], pa.string()),
        pa.array([None if t.external_id is None else str(t.external_id) for t in picked], pa.string()),
        timestamps([t.created_at for t in picked]),
        pa.array([t.prompt for t in picked], pa.string()),
        _criteria(r_crits),
        _list(r_n, _struct(_RESPONSE, r_ids, contents, models), TASK_SCHEMA.field("responses").type),
        _list(r_labels, labels, TASK_SCHEMA.field("labels").type),
        _list(r_n, _struct(_SCORE, r_ids, pa.array(means, pa.float64())), _SCORES),
        agreement,
        pa.array(r_labels, pa.int32()),
        _ground_truth(picked, [ids[first[k] : first[k + 1]] for k in rows.tolist()]),
    ]
    return Labelled(
        table=pa.RecordBatch.from_arrays(columns, schema=TASK_SCHEMA),
        offsets=r_first,
        ids=r_ids,
        contents=contents,
        step=np.array([c.step(k) for c, k in zip(r_crits, r_n.tolist(), strict=True)], dtype=np.float64),
        groups=groups,
    )


def _starts(counts: np.ndarray) -> np.ndarray:
    """``[0, c0, c0+c1, …]``: where each run of ``counts`` starts in a flat array, and the total last."""
    out = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


@dataclass
class _Labels:
    """The batch's complete labels, by task, then by copy and the labeller's first result."""

    per_task: np.ndarray  # [T] labels of each task
    task: np.ndarray  # [N] each label's task
    copy: np.ndarray  # [N] its copy (index into the batch's assignments)
    first_row: np.ndarray  # [N] its first result row
    labeller: pa.Array  # [N] its labeller id
    values: np.ndarray  # its raw values, label by label in completion order (flat)


def _labels(tasks: Sequence[TaskLike], res: Results, n: np.ndarray, first: np.ndarray, ids: list[str]) -> _Labels:
    n_tasks = len(tasks)
    # each result row: its copy, its task, its completion's place in the task (or −1), its labeller
    a_ids = np.asarray(res.assignment_ids, dtype=np.int64)
    order = np.argsort(a_ids, kind="stable")
    index = {str(t.id): k for k, t in enumerate(tasks)}
    a_task = np.fromiter((index[str(t)] for t in res.assignment_tasks), dtype=np.int64, count=len(a_ids))
    row_a = order[np.searchsorted(a_ids[order], np.asarray(res.assignment, dtype=np.int64))]
    row_t = a_task[row_a]
    owner = np.repeat(np.arange(n_tasks), n)
    slots: dict[Any, int] = dict(zip(ids, range(len(ids)), strict=True))
    if len(slots) == len(ids):  # completion ids unique over the batch: the id alone finds its task
        slot = np.fromiter(map(slots.get, res.completion, repeat(-1)), dtype=np.int64, count=len(row_t))
    else:
        slots = {(o, c): s for s, (o, c) in enumerate(zip(owner.tolist(), ids, strict=True))}
        keys = zip(row_t.tolist(), res.completion, strict=True)
        slot = np.fromiter(map(slots.get, keys, repeat(-1)), dtype=np.int64, count=len(row_t))
    valid = slot >= 0
    valid[valid] = owner[slot[valid]] == row_t[valid]  # an id the task does not have spoils the label
    pos = np.where(valid, slot - first[row_t], 0)
    codes = pa.array(res.labeller, pa.string()).dictionary_encode()
    lab = codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)

    # (copy, labeller) groups in order of their first row
    key = row_a * max(len(codes.dictionary), 1) + lab
    _, first_row, inverse = np.unique(key, return_index=True, return_inverse=True)
    by_first = np.argsort(first_row, kind="stable")
    rank = np.empty_like(by_first)
    rank[by_first] = np.arange(len(by_first))
    g_row = first_row[by_first]
    group = rank[inverse.reshape(-1)]
    g_task = row_t[g_row]

    # a group is a label when it has a value for each of its task's completions and for nothing else
    width = max(int(n.max()) if n_tasks else 0, 1)
    cell = group[valid] * width + pos[valid]
    cells, last = np.unique(cell[::-1], return_index=True)  # were a value stored twice, the last one counts
    values = np.full(len(g_row) * width, np.nan)
    values[cells] = np.asarray(res.value, dtype=np.float64)[valid][len(cell) - 1 - last]
    filled = np.bincount(cells // width, minlength=len(g_row))
    spoiled = np.bincount(group[~valid], minlength=len(g_row)) > 0
    complete = np.flatnonzero((filled == n[g_task]) & ~spoiled)
    chosen = complete[np.argsort(g_task[complete], kind="stable")]
    l_task = g_task[chosen]
    l_row = g_row[chosen]
    return _Labels(
        per_task=np.bincount(l_task, minlength=n_tasks),
        task=l_task,
        copy=row_a[l_row],
        first_row=l_row,
        labeller=codes.dictionary.take(pa.array(lab[l_row])).cast(pa.string()),
        values=values[np.repeat(chosen, n[l_task]) * width + _ragged(n[l_task])],
    )


def _aggregate(
    unit: np.ndarray, r_labels: np.ndarray, r_n: np.ndarray
) -> tuple[np.ndarray, pa.Array, list[ShapeGroup]]:
    """Per labelled task, from its labels' unit values (one [L, C] block each, flat): the mean per completion
    (flat), the agreement (null below two labellers or when no pair is defined), and the shape groups."""
    block = _starts(r_labels * r_n)
    r_first = _starts(r_n)
    means = np.empty(int(r_first[-1]))
    agreement = np.full(len(r_n), np.nan)
    defined = np.zeros(len(r_n), dtype=bool)
    groups: list[ShapeGroup] = []
    for n_lab, n_c in sorted(set(zip(r_labels.tolist(), r_n.tolist(), strict=True))):
        members = np.flatnonzero((r_labels == n_lab) & (r_n == n_c))
        arr = unit[block[members][:, None] + np.arange(n_lab * n_c)].reshape(len(members), n_lab, n_c)
        mean = arr.mean(axis=1)
        means[r_first[members][:, None] + np.arange(n_c)] = mean
        groups.append(ShapeGroup(rows=members, mean=mean))
        if n_lab >= 2:
            i, j = np.triu_indices(n_lab, k=1)
            agree = scoring.agreement(scoring.spearman_last(arr[:, i], arr[:, j]))  # [T, P]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN row: no defined pair (null below)
                agreement[members] = np.nanmean(agree, axis=1)
            defined[members] = np.isfinite(agree).any(axis=1)
    return means, pa.array(agreement, pa.float64(), mask=~defined), groups


def _criteria(crits: Sequence[AnyCriterion]) -> pa.Array:
    def bound(c: AnyCriterion, name: str) -> int | None:
        return None if c.is_ranking else int(getattr(c, name))

    return _struct(
        CRITERIA,
        pa.array(["ranking" if c.is_ranking else "score" for c in crits], pa.string()),
        pa.array([bound(c, "min") for c in crits], pa.int32()),
        pa.array([bound(c, "max") for c in crits], pa.int32()),
    )


def _ground_truth(tasks: Sequence[TaskLike], ids: Sequence[Sequence[str]]) -> pa.Array:
    """Each task's known ranks in completion order (null when the truth is not known, e.g. external tasks)."""
    gt_ids: list[str] = []
    ranks: list[int] = []
    counts = np.zeros(len(tasks), dtype=np.int64)
    unknown = np.zeros(len(tasks), dtype=bool)
    for k, (t, task_ids) in enumerate(zip(tasks, ids, strict=True)):
        gt = t.ground_truth
        unknown[k] = not gt
        if gt:
            known = [c for c in task_ids if c in gt]
            gt_ids += known
            ranks += [int(gt[c]) for c in known]
            counts[k] = len(known)
    ranked = _struct(_RANK, pa.array(gt_ids, pa.string()), pa.array(ranks, pa.int32()))
    return _list(counts, ranked, TASK_SCHEMA.field("ground_truth").type, unknown)


def _units(raw: np.ndarray, task: np.ndarray, crits: Sequence[AnyCriterion], n: np.ndarray) -> np.ndarray:
    """Each value on the common [0, 1] axis through its task's criterion (``criterion.unit``), called once per
    distinct (criterion, number of completions, value) — a batch holds few distinct values."""
    out = np.empty(len(raw))
    if not len(raw):
        return out
    kinds: dict[tuple[int, int], int] = {}
    kind_of_task = np.array([kinds.setdefault((id(c), int(k)), len(kinds)) for c, k in zip(crits, n, strict=True)])
    by_kind = {v: key for key, v in kinds.items()}
    crit_by_id = {id(c): c for c in crits}
    cell_kind = kind_of_task[task]
    bits = raw.view(np.int64)  # exact: -0.0 and 0.0 (and NaNs) stay apart
    for kind in np.unique(cell_kind).tolist():
        mask = cell_kind == kind
        crit_id, count = by_kind[kind]
        crit = crit_by_id[crit_id]
        uniq, inverse = np.unique(bits[mask], return_inverse=True)
        units = np.array([crit.unit(float(v), count) for v in uniq.view(np.float64).tolist()], dtype=np.float64)
        out[mask] = units[inverse.reshape(-1)]
    return out
