"""Datasets from the validator store: one row per labelled task, and DPO preference pairs (DESIGN §9)."""

from dojo.dataset.export import ExportSummary, export_dataset
from dojo.dataset.rows import PAIR_SCHEMA, TASK_SCHEMA, build_rows

__all__ = ["ExportSummary", "export_dataset", "build_rows", "TASK_SCHEMA", "PAIR_SCHEMA"]
