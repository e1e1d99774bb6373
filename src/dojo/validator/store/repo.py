"""The validator store: one class, :class:`ValidatorStore`, whose public methods are each one transaction.

Each concern's steps live in their own module of this package, as a base class of the store:

    dispatch.py   rounds, their tasks and planned copies; each send's outcome
    collect.py    copies due to be read; the results read
    scoring.py    a round ready to score; its scores, written once
    feedback.py   feedback owed to miners; its delivery
    weights.py    running scores and weight submissions
    external.py   external-task requests
    export.py     the dataset export's streamed read
    views.py      read-only views (progress, ``dojo status``, the local network)

The task, copy and round states move only through :mod:`dojo.validator.states`.
"""

from __future__ import annotations

from dojo.validator.store.collect import CollectSteps
from dojo.validator.store.db import sqlite_file
from dojo.validator.store.dispatch import DispatchSteps
from dojo.validator.store.export import ExportReads
from dojo.validator.store.external import ExternalSteps
from dojo.validator.store.feedback import FeedbackSteps
from dojo.validator.store.scoring import ScoringSteps
from dojo.validator.store.views import StoreViews
from dojo.validator.store.weights import WeightSteps

__all__ = ["ValidatorStore"]


class ValidatorStore(
    DispatchSteps, CollectSteps, ScoringSteps, FeedbackSteps, WeightSteps, ExternalSteps, StoreViews, ExportReads
):
    """The validator's persistent state and the atomic steps that change it."""

    @classmethod
    def open_read_only(cls, url: str) -> ValidatorStore | None:
        """An existing store opened only to look, or None while there is none yet (no file, or no tables)."""
        path = sqlite_file(url)
        if path is not None and not path.is_file():
            return None
        store = cls(url, read_only=True)
        if not store.schema_ready():
            store.dispose()
            return None
        return store
