"""The validator store: SQLAlchemy models, Alembic migrations and the transactional steps."""
