"""The labeller's hot paths (list, fetch, submit, the session checks) run their SQL through a :class:`Runner`.

Statements are SQLAlchemy Core, built once with bound parameters; the runner executes one and
returns its rows (attribute access by column name), in one go:

* **SQLite** — in a worker thread on the sqlite3 driver: one hop off the event loop per
  statement. Through aiosqlite every cursor call (execute, fetch, close, commit) was a hop of
  its own, and those hops cost more CPU than the queries.
* **PostgreSQL** — on asyncpg, on connections the runner keeps (autocommit, taken from the
  engine's pool with the engine's settings and codecs). A statement is compiled by SQLAlchemy
  once (its SQL, parameter order, bind and result processors) and then sent straight to asyncpg:
  SQLAlchemy's per-execution work (pool checkout, execution context, result wrapping) cost
  several times the driver's own.

``rows``/``first``/``scalar`` run one statement outside a transaction (on PostgreSQL a
data-modifying statement is its own transaction). ``write`` runs a step of several statements
(a function of a sync :class:`~sqlalchemy.engine.Connection`) in one transaction, committed when
it returns and rolled back when it raises. A unique violation is raised as SQLAlchemy's
:class:`~sqlalchemy.exc.IntegrityError` on both databases.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import JSON, TypeDecorator, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dojo.worker_api.store.db import _ensure_sqlite_dir, _sqlite_pragmas, is_sqlite, sync_url

T = TypeVar("T")
Step = Callable[[Connection], T]
PG_CONNECTIONS = 10  # kept by the runner, out of the engine's pool (``store.db.make_engine``)


@dataclass(frozen=True)
class _Compiled:
    """One statement as asyncpg runs it."""

    sql: str
    names: tuple[str, ...]  # the positional parameters, in order
    fixed: dict[str, Any]  # values bound at build time (literals)
    binders: dict[str, Callable[[Any], Any]]  # SQLAlchemy's bind processors (e.g. aware → naive UTC)
    row: Any  # a namedtuple class of the result columns
    readers: tuple[Callable[[Any], Any] | None, ...]  # SQLAlchemy's result processors (e.g. naive → aware UTC)

    def args(self, params: dict[str, Any]) -> list[Any]:
        out = []
        for name in self.names:
            value = params[name] if name in params else self.fixed[name]
            binder = self.binders.get(name)
            out.append(binder(value) if binder is not None else value)
        return out

    def rows(self, records: Sequence[Any]) -> list[Any]:
        readers, make = self.readers, self.row._make
        if not any(readers):
            return [make(r) for r in records]
        return [make([v if f is None else f(v) for f, v in zip(readers, r, strict=True)]) for r in records]


def _reader(type_: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The result processor SQLAlchemy applies to ``type_`` (only decorated and JSON types have one here:
    asyncpg already returns ints, floats, strings and naive datetimes as Python values)."""
    if isinstance(type_, TypeDecorator | JSON):
        return type_._cached_result_processor(dialect, None)  # type: ignore[no-any-return]
    return None


class Runner:
    """``await runner.rows(stmt, params)`` and friends: one statement, one hop."""

    def __init__(self, url: str, engine: AsyncEngine, threads: int = 8, connections: int = PG_CONNECTIONS) -> None:
        self.dialect = engine.dialect.name
        self._engine = engine
        self._sync: Engine | None = None
        self._pool: ThreadPoolExecutor | None = None
        if is_sqlite(url):
            _ensure_sqlite_dir(url)
            self._sync = create_engine(
                sync_url(url),
                pool_size=threads,
                max_overflow=threads,
                connect_args={"timeout": 30, "check_same_thread": False},
            )
            event.listen(self._sync, "connect", _sqlite_pragmas)
            self._pool = ThreadPoolExecutor(threads, thread_name_prefix="dojo-sqlite")
            return
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._slots = asyncio.Semaphore(connections)  # connections in use at once
        self._idle: list[tuple[AsyncConnection, Any]] = []
        self._held: list[AsyncConnection] = []
        self._closing: set[asyncio.Task[None]] = set()
        self._compiled: OrderedDict[Any, _Compiled] = OrderedDict()

    # ---------------------------------------------------------------- one statement
    async def rows(self, stmt: Any, params: dict[str, Any] | None = None) -> list[Any]:
        """Every row of ``stmt`` (columns by attribute)."""
        params = params or {}
        if self._sync is not None:
            return await self._in_thread(lambda conn: list(conn.execute(stmt, params).all()))
        compiled = self._compile(stmt)
        records = await self._fetch(compiled.sql, compiled.args(params))
        return compiled.rows(records)

    async def first(self, stmt: Any, params: dict[str, Any] | None = None) -> Any | None:
        """The first row of ``stmt``, or None."""
        found = await self.rows(stmt, params)
        return found[0] if found else None

    async def scalar(self, stmt: Any, params: dict[str, Any] | None = None) -> Any | None:
        """The first column of the first row, or None."""
        row = await self.first(stmt, params)
        return None if row is None else row[0]

    # ---------------------------------------------------------------- a transaction
    async def write(self, step: Step[T]) -> T:
        """``step(conn)`` in one transaction: committed when it returns, rolled back when it raises."""
        if self._sync is not None:
            return await self._in_thread(step, transaction=True)
        async with self._engine.begin() as conn:
            return await conn.run_sync(step)

    async def close(self) -> None:
        """Close what the runner holds (the engine itself is disposed by its owner)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()
            return
        for conn in self._held:
            await conn.close()
        self._held.clear()
        self._idle.clear()

    # ---------------------------------------------------------------- SQLite
    async def _in_thread(self, step: Step[T], transaction: bool = False) -> T:
        assert self._sync is not None
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, partial(_run_step, self._sync, step, transaction)
        )

    # ---------------------------------------------------------------- PostgreSQL
    def _compile(self, stmt: Any) -> _Compiled:
        found = self._compiled.get(stmt)
        if found is not None:
            return found
        dialect = self._engine.dialect
        c = stmt.compile(dialect=dialect)
        keys = [e.keyname for e in c._result_columns]
        compiled = _Compiled(
            sql=c.string,
            names=tuple(c.positiontup or ()),
            fixed=dict(c.params),
            binders={k: v for k, v in c._bind_processors.items() if v is not None},
            row=namedtuple("Row", keys, rename=True),  # type: ignore[misc]
            readers=tuple(_reader(e.type, dialect) for e in c._result_columns),
        )
        self._compiled[stmt] = compiled
        if len(self._compiled) > 256:  # statements are built once per shape; bound all the same
            self._compiled.popitem(last=False)
        return compiled

    async def _fetch(self, sql: str, args: list[Any]) -> Sequence[Any]:
        async with self._slots:
            conn, raw = self._idle.pop() if self._idle else await self._open()
            try:
                records = await raw.fetch(sql, *args)
            except BaseException as exc:
                if str(getattr(exc, "sqlstate", "") or "").startswith("23"):  # integrity: the connection is fine
                    self._idle.append((conn, raw))
                    raise IntegrityError(sql, args, exc) from exc
                self._drop(conn)  # anything else (a cancelled request too) may have left it mid-query
                raise
            self._idle.append((conn, raw))
        return records  # type: ignore[no-any-return]

    async def _open(self) -> tuple[AsyncConnection, Any]:
        conn = await self._autocommit.connect()
        try:
            raw = (await conn.get_raw_connection()).driver_connection
        except BaseException:
            await asyncio.shield(conn.close())
            raise
        self._held.append(conn)
        return conn, raw

    def _drop(self, conn: AsyncConnection) -> None:
        """Forget a connection and close it in the background; the next request opens a fresh one."""
        self._held.remove(conn)
        closing = asyncio.get_running_loop().create_task(conn.invalidate())
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)


def _run_step(engine: Engine, step: Step[T], transaction: bool) -> T:
    if transaction:
        with engine.begin() as conn:
            return step(conn)
    with engine.connect() as conn:
        return step(conn)
