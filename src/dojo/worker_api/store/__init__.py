"""Persistence of the worker API: models, engine and migrations."""
