"""What the retry and fault tests share: a counter table, server-side connection ids and
KILL statements, engines tuned for contention, a thread-safe retry log."""

from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry

import tidb_compat

RETRYABLE_CODES: dict[str, set[int | str]] = {
    "sqlite": {5, 6},  # SQLITE_BUSY, SQLITE_LOCKED
    "mariadb": {1213, 1205, 1020},
    "postgresql": {"40P01", "40001"},
    "tidb": {1213, 1205, 8002, 8022, 8028, 9007},
}
DEADLOCK_CODES: dict[str, set[int | str]] = {"mariadb": {1213}, "postgresql": {"40P01"}, "tidb": {1213, 9007, 8002}}

SQLITE_SHORT_BUSY_TIMEOUT = 0.005
"""Seconds a SQLite connection waits for another's write lock before "database is locked":
short, so that contention turns into retryable busy errors."""


def counter_table(metadata: sa.MetaData, name: str) -> sa.Table:
    return sa.Table(
        name, metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("v", sa.Integer, nullable=False),
    )


def create_counters(engine: Engine, table: sa.Table, ids: range | list[int]) -> None:
    table.metadata.create_all(engine, tables=[table])
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"id": i, "v": 0} for i in ids])


def counters(engine: Engine, table: sa.Table) -> dict[int, int]:
    with engine.connect() as connection:
        return {row.id: row.v for row in connection.execute(sa.select(table.c.id, table.c.v))}


def increment(table: sa.Table, row_id: int) -> sa.Update:
    return table.update().where(table.c.id == row_id).values(v=table.c.v + 1)


def _fast_deadlock_detection(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    """PostgreSQL looks for deadlocks after ``deadlock_timeout`` (1 s by default): 20 ms keeps
    the contention tests short.  Needs a superuser; otherwise the default stays.  Sent in
    autocommit mode, so no COMMIT goes over the wire (the proxy tests cut on COMMIT)."""
    dbapi_connection.autocommit = True
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SET deadlock_timeout = '20ms'")
    except Exception:  # not a superuser: keep the server's default
        pass
    finally:
        cursor.close()
        dbapi_connection.autocommit = False


def contention_engine(database_url: str, backend_name: str, **overrides: Any) -> Engine:
    """An engine for contention tests: short SQLite busy timeout, fast PostgreSQL deadlock
    detection."""
    if backend_name == "sqlite":
        overrides.setdefault("connect_args", {"timeout": SQLITE_SHORT_BUSY_TIMEOUT})
    engine = tidb_compat.create_engine(database_url, **overrides)
    if backend_name == "postgresql":
        event.listen(engine, "connect", _fast_deadlock_detection)
    return engine


def contention_async_engine(database_url: str, backend_name: str, **overrides: Any) -> AsyncEngine:
    if backend_name == "sqlite":
        overrides.setdefault("connect_args", {"timeout": SQLITE_SHORT_BUSY_TIMEOUT})
    engine = tidb_compat.create_async_engine(database_url, **overrides)
    if backend_name == "postgresql":
        event.listen(engine.sync_engine, "connect", _fast_deadlock_detection)
    return engine


CONNECTION_ID_SQL = {"mariadb": "SELECT CONNECTION_ID()", "tidb": "SELECT CONNECTION_ID()",
                     "postgresql": "SELECT pg_backend_pid()"}


def connection_id(connection: Connection, backend_name: str) -> int:
    """The server's id of this session (what KILL / pg_terminate_backend take)."""
    return int(connection.exec_driver_sql(CONNECTION_ID_SQL[backend_name]).scalar_one())


async def connection_id_async(connection: AsyncConnection, backend_name: str) -> int:
    return int((await connection.exec_driver_sql(CONNECTION_ID_SQL[backend_name])).scalar_one())


def kill(admin: Engine, backend_name: str, server_id: int) -> None:
    """Kill a session from another session, and wait until it is gone."""
    with admin.connect() as connection:
        if backend_name == "postgresql":
            # with a timeout, pg_terminate_backend waits (up to 5 s) until the backend has exited
            assert connection.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": server_id}).scalar()
        else:
            connection.exec_driver_sql(f"KILL CONNECTION {int(server_id)}")
        connection.commit()
    deadline = time.monotonic() + 5
    while alive(admin, backend_name, {server_id}) and time.monotonic() < deadline:
        time.sleep(0.02)  # KILL returns before the killed thread has gone


def alive(admin: Engine, backend_name: str, server_ids: set[int]) -> set[int]:
    """Which of ``server_ids`` are still connected."""
    with admin.connect() as connection:
        if backend_name == "postgresql":
            rows = connection.exec_driver_sql("SELECT pid FROM pg_stat_activity").scalars()
        else:
            rows = connection.exec_driver_sql("SELECT id FROM information_schema.processlist").scalars()
        return server_ids & {int(row) for row in rows}


class RetryLog:
    """An ``on_retry`` callback that records ``(attempt, error)``, safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[int, BaseException]] = []

    def __call__(self, attempt: int, exc: BaseException) -> None:
        with self._lock:
            self.calls.append((attempt, exc))

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.calls)

    def codes(self, engine: Engine | AsyncEngine) -> set[int | str | None]:
        errors = tidb_compat.get_backend(engine).errors
        with self._lock:
            return {errors.code(exc) for _, exc in self.calls}
