"""Alembic migrations of the worker API store (shipped in the package, applied on start)."""
