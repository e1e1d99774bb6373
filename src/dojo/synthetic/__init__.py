"""Synthetic tasks with known ground truth: generators, the degradation ladder, validation, the service."""
