"""Opening the validator store: engine (SQLite in WAL mode, or PostgreSQL by URL) and migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from dojo.errors import DojoError

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" hook below issues BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a killed process
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_reader_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except sa.exc.ArgumentError as exc:
        raise DojoError(
            f"invalid validator database URL {url!r}: expected sqlite:///FILE or postgresql+psycopg://…"
        ) from exc


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite store URL; None for a server database or an in-memory one."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).expanduser()


def make_engine(url: str, read_only: bool = False) -> Engine:
    """An engine for ``url``: ``sqlite:///file`` (WAL) or ``postgresql+psycopg://…``.

    ``read_only`` opens an existing store for looking only: the SQLite file read-only (its readers
    never take the write lock the validator's steps need), PostgreSQL transactions read-only.
    """
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if read_only:
            if path is None:
                raise DojoError(f"cannot open {url!r} read-only: expected sqlite:///FILE")
            uri = f"file:{quote(str(path))}?mode=ro"
            engine = sa.create_engine(
                "sqlite://",
                creator=lambda: sqlite3.connect(uri, uri=True, timeout=10, check_same_thread=False),
            )
            sa.event.listen(engine, "connect", _sqlite_reader_pragmas)
            # one snapshot per transaction (deferred: a reader never blocks the validator's writes)
            sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
            return engine
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 10})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        # let SQLAlchemy issue BEGIN itself so a transaction spans every statement of a step
        sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    if parsed.get_backend_name() == "postgresql":
        if read_only:
            return sa.create_engine(
                parsed, pool_pre_ping=True, connect_args={"options": "-c default_transaction_read_only=on"}
            )
        return sa.create_engine(parsed, pool_pre_ping=True)
    raise DojoError(f"unsupported validator database {parsed.get_backend_name()!r}: use sqlite or postgresql")


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the migrations shipped in the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Database:
    """The engine plus a session factory; ``with db.transaction() as s:`` is one atomic step.

    ``read_only`` (which implies no migrations) is for processes that only look: ``dojo status``,
    the local network's oracle and live view.
    """

    def __init__(self, url: str, run_migrations: bool = True, read_only: bool = False) -> None:
        self.url = url
        self.read_only = read_only
        self.engine = make_engine(url, read_only=read_only)
        if run_migrations and not read_only:
            try:
                migrate(self.engine)
            except sa.exc.OperationalError as exc:
                raise DojoError(f"cannot open the validator database {make_url(url)!r}: {exc.orig}") from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose writes commit together at the end, or not at all."""
        with self._sessions() as session, session.begin():
            yield session

    def schema_ready(self) -> bool:
        """Whether the store's tables exist (a validator starting up may not have created them yet)."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() is not None

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
