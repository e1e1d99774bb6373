"""Engine, sessions and migrations of the worker API store.

SQLite (``sqlite:///file``, WAL) is the default; PostgreSQL when the URL names one. Requests use
the async drivers (aiosqlite, asyncpg); Alembic migrations run once at start with the sync
drivers (sqlite3, psycopg 3) in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from dojo.errors import DojoError
from dojo.logs import log

logger = logging.getLogger("dojo.worker_api.store")

MIGRATIONS = Path(__file__).with_name("migrations")

_PG_DRIVERS = {
    "postgresql",
    "postgres",
    "postgresql+psycopg",
    "postgresql+psycopg2",
    "postgresql+asyncpg",
    "postgresql+psycopg_async",
}
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"}


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises ArgumentError and friends
        raise DojoError(f"invalid worker database URL {url!r}: {exc}") from exc
    if parsed.drivername == "postgres":
        parsed = parsed.set(drivername="postgresql")
    if parsed.drivername not in _PG_DRIVERS | _SQLITE_DRIVERS:
        raise DojoError(f"unsupported worker database URL {url!r}: expected sqlite:///FILE or postgresql+psycopg://…")
    return parsed


def is_sqlite(url: str) -> bool:
    """True when ``url`` names a SQLite database."""
    return _parse(url).drivername.startswith("sqlite")


def async_url(url: str) -> URL:
    """The URL with its async driver: aiosqlite for SQLite, asyncpg for PostgreSQL."""
    parsed = _parse(url)
    return parsed.set(drivername="sqlite+aiosqlite" if is_sqlite(url) else "postgresql+asyncpg")


def sync_url(url: str) -> URL:
    """The URL with its sync driver (for Alembic): sqlite3 or psycopg 3."""
    parsed = _parse(url)
    return parsed.set(drivername="sqlite" if is_sqlite(url) else "postgresql+psycopg")


# Session settings of every PostgreSQL connection of the worker API. Its queries are written to be read
# in index order (the task list has an index per filter and sort, migration 0005); on a small or
# narrowly filtered table the planner would rather sort a seq scan, which costs more CPU per request
# as the table grows. A sort still happens where no index gives the order (the cost is only raised).
# Reviewed (issue 15): kept. Without it, 342 of the 720 pages ``tests/worker_api/test_list_plans.py`` checks
# (10,000 tasks) are sorted instead of read in index order; with it every one walks an index. The price: it
# applies to every statement on these connections, so the few small reads ordered by a primary key (a
# labeller's partners, a miner's keys) may walk that key instead of sorting a handful of rows, a scan of
# a few thousand index entries at thousands of labellers. Scoping it to the list (SET LOCAL) would cost a
# transaction and two round trips per page, more than that scan.
PG_SETTINGS = {"enable_sort": "off"}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_reset(dbapi_conn: Any, _record: Any, _state: Any) -> None:
    """Roll back a connection coming back to the pool only if it is inside a transaction.

    ``in_transaction`` reads SQLite's autocommit flag without a trip to aiosqlite's thread; a
    connection left mid-transaction (a cancelled request) is still rolled back, so it can never
    return to the pool holding the write lock.
    """
    raw = getattr(dbapi_conn, "driver_connection", None) or getattr(dbapi_conn, "_connection", None)
    if raw is None or getattr(raw, "in_transaction", True):
        dbapi_conn.rollback()


def _ensure_sqlite_dir(url: str) -> None:
    database = _parse(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """An async engine for ``url`` (SQLite gets WAL, a busy timeout and foreign keys)."""
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
        # reset on return only when a transaction is still open: a blind ROLLBACK is one more thread hop
        engine = create_async_engine(
            async_url(url),
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"timeout": 30},
            pool_reset_on_return=None,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "reset", _sqlite_reset)
        return engine
    # No pre-ping (a round trip per checkout): a dropped connection is invalidated on error, and recycled hourly.
    # No overflow either: SQLAlchemy closes an overflow connection as soon as it comes back, so under a steady
    # load above ``pool_size`` every burst opened new ones (a TLS attempt, a login, statements prepared again),
    # which cost more CPU than the queries. A request beyond the pool waits for a connection instead.
    # Up to ``store.runner.PG_CONNECTIONS`` of these are held by the hot paths' runner.
    return create_async_engine(
        async_url(url),
        pool_size=2 * pool_size,
        max_overflow=0,
        pool_recycle=3600,
        connect_args={"server_settings": dict(PG_SETTINGS)},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The one way to get a session: ``async with sessions() as s``."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["sqlalchemy_url"] = sync_url(url)
    return cfg


def migrate_sync(url: str) -> None:
    """Bring the schema at ``url`` to the newest revision (Alembic ``upgrade head``)."""
    from alembic import command

    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line of our own instead of alembic's chatter
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
    try:
        command.upgrade(_alembic_config(url), "head")
    except DojoError:
        raise
    except Exception as exc:  # noqa: BLE001 - an unreachable database is a user-facing failure
        raise DojoError(f"cannot migrate the worker database at {sync_url(url).render_as_string()}: {exc}") from exc
    log(logger, "worker_db.migrated", db=sync_url(url).render_as_string().split("@")[-1])


async def optimize(engine: AsyncEngine) -> None:
    """Refresh the query planner's statistics (SQLite ``PRAGMA optimize``; PostgreSQL's autovacuum does it)."""
    if engine.dialect.name != "sqlite":
        return
    async with engine.connect() as conn:
        await conn.exec_driver_sql("PRAGMA optimize=0x10002")


async def migrate(url: str) -> None:
    """Run :func:`migrate_sync` off the event loop."""
    await asyncio.to_thread(migrate_sync, url)


async def instance_id(engine: AsyncEngine) -> str:
    """This database's instance id (made by migration 0004): the issuer of its session tokens."""
    async with engine.connect() as conn:
        found = (await conn.exec_driver_sql("SELECT id FROM instance")).scalar_one_or_none()
    if not found:
        raise DojoError("the worker database has no instance id: run its migrations (dojo worker-api does at start)")
    return str(found)
