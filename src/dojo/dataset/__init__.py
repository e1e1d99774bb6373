"""Datasets from the validator store: one row per labelled task, and DPO preference pairs (DESIGN §9)."""

from dojo.dataset.export import ExportSummary, export_dataset
from dojo.dataset.pairs import PAIR_SCHEMA, PairCounts, PairOptions, build_pairs, pair_schema
from dojo.dataset.rows import TASK_SCHEMA, Labelled, build_rows

__all__ = [
    "ExportSummary",
    "export_dataset",
    "build_rows",
    "Labelled",
    "build_pairs",
    "pair_schema",
    "PairOptions",
    "PairCounts",
    "TASK_SCHEMA",
    "PAIR_SCHEMA",
]
