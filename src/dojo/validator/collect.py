"""Turning a miner's results reply into rows keyed by the ORIGINAL completion ids, keeping only usable answers."""

from __future__ import annotations

from dojo import protocol
from dojo.errors import Rejected, Timeout, TransportError, Unreachable
from dojo.scoring import result_fingerprint
from dojo.validator.store.records import AssignmentView, CollectOutcome, LabelRow


def describe(exc: BaseException) -> str:
    """A short reason for a failed call."""
    return f"{type(exc).__name__}: {exc}"[:500]


def may_retry(reply: object) -> bool:
    """Whether a failed call is worth making again: the miner was unreachable, slow or briefly failing (no
    reply, timeout, HTTP 408/429/5xx) — not when it answered wrongly (a 4xx, a reply that is not the model)."""
    if isinstance(reply, Rejected):
        return reply.status in (408, 429) or reply.status >= 500
    if isinstance(reply, TransportError):
        return isinstance(reply, (Timeout, Unreachable))
    return isinstance(reply, BaseException)  # no reply at all (the call never completed)


def map_results(
    view: AssignmentView, reply: protocol.ResultsReply | BaseException, max_labellers: int
) -> CollectOutcome:
    """Rows for one copy. A labeller answer is dropped when it came after the copy's deadline, repeats a
    labeller, or is not one valid value per completion; the first ``max_labellers`` in time are kept."""
    if isinstance(reply, BaseException):
        return CollectOutcome(rows=[], fingerprint=None, error=describe(reply))
    ids = set(view.completion_map)
    kept: dict[str, dict[str, float]] = {}
    when = {}
    for res in sorted(reply.results, key=lambda r: r.submitted_at):
        if res.labeller_id in kept or len(kept) >= max_labellers:
            continue
        submitted = (
            res.submitted_at if res.submitted_at.tzinfo else res.submitted_at.replace(tzinfo=view.expire_at.tzinfo)
        )
        if submitted > view.expire_at:
            continue
        scores = {str(k): float(v) for k, v in res.scores.items()}
        if protocol.check_values(view.criteria, ids, scores) is not None:
            continue
        kept[res.labeller_id] = {view.completion_map[k]: v for k, v in scores.items()}
        when[res.labeller_id] = submitted
    rows = [
        LabelRow(labeller_id=lab, completion_id=cid, value=v, submitted_at=when[lab])
        for lab, values in kept.items()
        for cid, v in sorted(values.items())
    ]
    # fingerprint the answers only (not who gave them), in original ids: copies match across miners
    fingerprint = result_fingerprint(list(kept.values())) if kept else 0
    return CollectOutcome(rows=rows, fingerprint=fingerprint)
