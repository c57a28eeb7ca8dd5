"""``run_transaction`` / ``run_transaction_async`` against the real server of the session.

Contention is real: threads (and tasks) update rows in inverted orders, so MariaDB and
PostgreSQL raise real deadlocks (a barrier at the start makes the first round a certain
deadlock cycle), and SQLite, with a short busy timeout, raises "database is locked".
Every loop is bounded in iterations and time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any, TypedDict

import psycopg
import pymysql
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

import tidb_compat
from tidb_compat import ConfigurationError
from tidb_compat.backends import load_backend
from tidb_compat.errors import CommitOutcomeUnknown
from tidb_compat.retry import run_transaction, run_transaction_async

from .faults.workload import (
    DEADLOCK_CODES,
    RETRYABLE_CODES,
    RetryLog,
    contention_async_engine,
    contention_engine,
    counter_table,
    counters,
    create_counters,
    increment,
)

THREADS = 4
INCREMENTS = 25
TIME_LIMIT = 60.0


class _Backoff(TypedDict):
    initial_backoff: float
    max_backoff: float


FAST = _Backoff(initial_backoff=0.002, max_backoff=0.05)


@pytest.fixture
def contended(database_url: str, backend_name: str) -> Iterator[Engine]:
    engine = contention_engine(database_url, backend_name, pool_size=THREADS + 1)
    yield engine
    engine.dispose()


def _lock_rows(worker: int, round_: int) -> tuple[int, int]:
    """Rows 1..THREADS are lock rows: worker i locks row i+1, then the next worker's row;
    every other round the order is inverted."""
    first, second = 1 + worker, 1 + (worker + 1) % THREADS
    return (first, second) if round_ % 2 == 0 else (second, first)


def test_concurrent_increments_with_lock_order_inversions_end_exact(
    contended: Engine, metadata: sa.MetaData, table_name: str, backend_name: str
) -> None:
    table = counter_table(metadata, table_name)
    create_counters(contended, table, range(THREADS + 1))  # row 0 is the counter
    # Servers: every worker holds its first row before anyone asks for a second one, so the
    # first round is a certain deadlock cycle.  SQLite locks the whole file: no barrier.
    barrier = threading.Barrier(THREADS, timeout=20) if backend_name != "sqlite" else None
    log = RetryLog()
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        waited = False

        def one(round_: int) -> None:
            def work(connection: Connection) -> None:
                nonlocal waited
                first, second = _lock_rows(index, round_)
                connection.execute(increment(table, first))
                if barrier is not None and not waited:
                    barrier.wait()
                    waited = True
                connection.execute(increment(table, second))
                connection.execute(increment(table, 0))

            run_transaction(contended, work, max_attempts=40, on_retry=log, **FAST)

        try:
            for round_ in range(INCREMENTS):
                one(round_)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,), name=f"increment-{i}") for i in range(THREADS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.1, TIME_LIMIT - (time.monotonic() - started)))
    assert not any(thread.is_alive() for thread in threads), "workers still running after the time limit"
    assert not failures, failures
    values = counters(contended, table)
    assert values[0] == THREADS * INCREMENTS
    assert all(values[i] == 2 * INCREMENTS for i in range(1, THREADS + 1)), values
    assert log.count > 0
    codes = log.codes(contended)
    assert codes <= RETRYABLE_CODES[backend_name], codes
    if backend_name in DEADLOCK_CODES:
        assert codes & DEADLOCK_CODES[backend_name], f"no real deadlock was raised: {codes}"


def test_async_concurrent_increments_with_lock_order_inversions_end_exact(
    database_url: str, engine: Engine, metadata: sa.MetaData, table_name: str, backend_name: str
) -> None:
    table = counter_table(metadata, table_name)
    create_counters(engine, table, range(THREADS + 1))
    log = RetryLog()

    async def main() -> dict[int, int]:
        aengine = contention_async_engine(database_url, backend_name, pool_size=THREADS + 1)
        barrier = asyncio.Barrier(THREADS) if backend_name != "sqlite" else None
        try:
            async def worker(index: int) -> None:
                waited = False
                for round_ in range(INCREMENTS):
                    async def work(connection: AsyncConnection, round_: int = round_) -> None:
                        nonlocal waited
                        first, second = _lock_rows(index, round_)
                        await connection.execute(increment(table, first))
                        if barrier is not None and not waited:
                            await asyncio.wait_for(barrier.wait(), timeout=20)
                            waited = True
                        await connection.execute(increment(table, second))
                        await connection.execute(increment(table, 0))

                    await run_transaction_async(aengine, work, max_attempts=40, on_retry=log, **FAST)

            await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(THREADS))), timeout=TIME_LIMIT)
            assert log.count > 0
            codes = log.codes(aengine)
            assert codes <= RETRYABLE_CODES[backend_name], codes
            if backend_name in DEADLOCK_CODES:
                assert codes & DEADLOCK_CODES[backend_name], f"no real deadlock was raised: {codes}"
        finally:
            await aengine.dispose()
        return counters(engine, table)

    values = asyncio.run(main())
    assert values[0] == THREADS * INCREMENTS
    assert all(values[i] == 2 * INCREMENTS for i in range(1, THREADS + 1)), values


# -- retry, exhaustion, pass-through --------------------------------------------------------


def _raise_retryable(connection: Connection, backend_name: str) -> None:
    """Make the server raise a retryable error (a real server error through the driver);
    on SQLite the caller holds the write lock instead."""
    if backend_name == "sqlite":
        return
    if backend_name == "postgresql":
        connection.exec_driver_sql(
            "DO $$ BEGIN RAISE EXCEPTION 'forced serialization failure' USING ERRCODE = 'serialization_failure'; END $$"
        )
    elif backend_name in ("mariadb", "tidb"):
        connection.exec_driver_sql(
            "SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'forced deadlock'"
        )


def _hold_write_lock(engine: Engine) -> Connection:
    """SQLite: another connection takes the file's write lock (until ROLLBACK)."""
    holder = engine.connect()
    holder.exec_driver_sql("BEGIN IMMEDIATE")
    return holder


def test_retryable_error_is_retried_then_the_last_error_is_raised(
    contended: Engine, metadata: sa.MetaData, table_name: str, backend_name: str
) -> None:
    table = counter_table(metadata, table_name)
    create_counters(contended, table, [1])
    attempts: list[int] = []
    log = RetryLog()
    holder = _hold_write_lock(contended) if backend_name == "sqlite" else None

    def work(connection: Connection) -> None:
        attempts.append(len(attempts) + 1)
        connection.execute(increment(table, 1))  # SQLite: "database is locked"
        _raise_retryable(connection, backend_name)

    started = time.monotonic()
    try:
        with pytest.raises(sa.exc.OperationalError) as info:
            run_transaction(contended, work, max_attempts=3, initial_backoff=0.05, max_backoff=1.0, jitter=0,
                            on_retry=log)
    finally:
        if holder is not None:
            holder.exec_driver_sql("ROLLBACK")
            holder.close()
    elapsed = time.monotonic() - started
    assert attempts == [1, 2, 3]
    assert [attempt for attempt, _ in log.calls] == [1, 2]
    assert all(info.value is not exc for _, exc in log.calls)  # the LAST error is raised
    assert tidb_compat.get_backend(contended).errors.code(info.value) in RETRYABLE_CODES[backend_name]
    assert "gave up after 3 attempts" in "\n".join(getattr(info.value, "__notes__", []))
    assert elapsed >= 0.05 + 0.10 - 0.005  # jitter=0: the backoff doubles from initial_backoff
    assert elapsed < 20
    assert counters(contended, table) == {1: 0}  # every attempt was rolled back


def test_transient_errors_then_success_commits_once(
    contended: Engine, metadata: sa.MetaData, table_name: str, backend_name: str
) -> None:
    table = counter_table(metadata, table_name)
    create_counters(contended, table, [1])
    log = RetryLog()
    holder = _hold_write_lock(contended) if backend_name == "sqlite" else None

    def on_retry(attempt: int, exc: BaseException) -> None:
        log(attempt, exc)
        if attempt == 2 and holder is not None:  # SQLite: the file is free for attempt 3
            holder.exec_driver_sql("ROLLBACK")

    def work(connection: Connection) -> str:
        connection.execute(increment(table, 1))
        if log.count < 2 and holder is None:
            _raise_retryable(connection, backend_name)
        return "done"

    try:
        assert run_transaction(contended, work, on_retry=on_retry, **FAST) == "done"
    finally:
        if holder is not None:
            holder.close()
    assert log.count == 2
    assert counters(contended, table) == {1: 1}


def test_non_retryable_errors_pass_through_untouched(
    engine: Engine, metadata: sa.MetaData, table_name: str
) -> None:
    table = counter_table(metadata, table_name)
    create_counters(engine, table, [1])
    log = RetryLog()
    calls = 0

    def duplicate(connection: Connection) -> None:
        nonlocal calls
        calls += 1
        connection.execute(increment(table, 1))
        connection.execute(table.insert(), [{"id": 1, "v": 0}])  # primary key violation

    with pytest.raises(sa.exc.IntegrityError):
        run_transaction(engine, duplicate, on_retry=log)
    assert (calls, log.count) == (1, 0)
    assert counters(engine, table) == {1: 0}  # the first statement was rolled back too

    mine = ValueError("the caller's own error")

    def own_error(connection: Connection) -> None:
        connection.execute(increment(table, 1))
        raise mine

    with pytest.raises(ValueError, match="own error") as info:
        run_transaction(engine, own_error, on_retry=log)
    assert info.value is mine and log.count == 0
    assert not getattr(mine, "__notes__", None)
    assert counters(engine, table) == {1: 0}


class _Base(DeclarativeBase):
    pass


class Ledger(_Base):
    __tablename__ = "retry_ledger"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    amount: Mapped[int]


@pytest.fixture
def ledger(engine: Engine) -> Iterator[None]:
    _Base.metadata.drop_all(engine)
    _Base.metadata.create_all(engine)
    yield
    _Base.metadata.drop_all(engine)


def test_sessionmaker_gets_a_session_and_commits(
    contended: Engine, backend_name: str, ledger: None
) -> None:
    factory = sessionmaker(contended)
    log = RetryLog()

    def work(session: Session) -> int:
        session.add(Ledger(id=log.count + 1, amount=10))
        session.flush()
        if log.count == 0 and backend_name != "sqlite":
            _raise_retryable(session.connection(), backend_name)
        return session.scalar(sa.select(sa.func.sum(Ledger.amount))) or 0

    assert run_transaction(factory, work, on_retry=log, **FAST) == 10
    assert log.count == (0 if backend_name == "sqlite" else 1)
    with factory() as session:
        assert [(row.id, row.amount) for row in session.scalars(sa.select(Ledger))] == [(log.count + 1, 10)]


def test_async_sessionmaker_and_pass_through(
    database_url: str, backend_name: str, ledger: None
) -> None:
    async def main() -> None:
        aengine = contention_async_engine(database_url, backend_name)
        factory = async_sessionmaker(aengine)
        log = RetryLog()
        try:
            async def work(session: AsyncSession) -> int:
                session.add(Ledger(id=1, amount=7))
                await session.flush()
                if log.count == 0 and backend_name != "sqlite":
                    await session.run_sync(lambda s: _raise_retryable(s.connection(), backend_name))
                return int(await session.scalar(sa.select(sa.func.count()).select_from(Ledger)) or 0)

            assert await run_transaction_async(factory, work, on_retry=log, **FAST) == 1

            async def duplicate(session: AsyncSession) -> None:
                session.add(Ledger(id=1, amount=8))

            with pytest.raises(sa.exc.IntegrityError):
                await run_transaction_async(factory, duplicate, on_retry=log)
            assert log.count == (0 if backend_name == "sqlite" else 1)
            async with factory() as session:
                assert (await session.scalars(sa.select(Ledger.amount))).all() == [7]
        finally:
            await aengine.dispose()

    asyncio.run(main())


def test_arguments_are_checked(engine: Engine) -> None:
    bad_arguments: list[dict[str, Any]] = [{"max_attempts": 0}, {"max_attempts": 1.5}, {"initial_backoff": -1},
                                           {"jitter": 2}, {"max_backoff": float("nan")}]
    for bad in bad_arguments:
        with pytest.raises(ConfigurationError, match=next(iter(bad))):
            run_transaction(engine, lambda connection: None, **bad)
    with pytest.raises(ConfigurationError, match="bind"):
        run_transaction("sqlite://", lambda connection: None)  # type: ignore[call-overload]


# -- classification (real driver exception classes, no server needed) --------------------


def _mysql_error(code: int) -> sa.exc.OperationalError:
    return sa.exc.OperationalError("COMMIT", {}, pymysql.err.OperationalError(code, "message"))


@pytest.mark.parametrize("code", [8002, 8022, 8028, 9007, 8005, 9001, 9002, 9003, 9005, 1213, 1205])
def test_tidb_retryable_codes(code: int) -> None:
    errors = load_backend("tidb").errors
    assert errors.is_retryable(_mysql_error(code))
    for during_commit in (False, True):  # the server answered: it rolled back
        assert errors.transaction_outcome(_mysql_error(code), during_commit=during_commit) == "retry"


@pytest.mark.parametrize("vendor", ["tidb", "mysql", "mariadb"])
@pytest.mark.parametrize("code", [2006, 2013])
def test_mysql_family_connection_loss_depends_on_commit(vendor: str, code: int) -> None:
    errors = load_backend(vendor).errors
    assert errors.transaction_outcome(_mysql_error(code), during_commit=False) == "retry"
    assert errors.transaction_outcome(_mysql_error(code), during_commit=True) == "unknown"
    assert errors.transaction_outcome(_mysql_error(1062), during_commit=False) == "fail"  # duplicate key


def test_vendor_specific_codes() -> None:
    mariadb, mysql = load_backend("mariadb").errors, load_backend("mysql").errors
    assert mariadb.is_retryable(_mysql_error(1020)) and not mysql.is_retryable(_mysql_error(1020))
    assert mariadb.is_connection_lost(_mysql_error(1927))  # KILL CONNECTION
    assert not mysql.is_retryable(_mysql_error(8002))  # TiDB's codes only on TiDB


def test_postgresql_and_sqlite_classification() -> None:
    import sqlite3

    pg = load_backend("postgresql").errors
    for error_class in (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected):
        wrapped = sa.exc.OperationalError("UPDATE", {}, error_class("x"))
        assert pg.transaction_outcome(wrapped, during_commit=True) == "retry"
    gone = sa.exc.OperationalError("COMMIT", {}, psycopg.OperationalError("consuming input failed: "
                                                                         "server closed the connection unexpectedly"))
    assert pg.transaction_outcome(gone, during_commit=False) == "retry"
    assert pg.transaction_outcome(gone, during_commit=True) == "unknown"
    unique = sa.exc.IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("x"))
    assert pg.transaction_outcome(unique, during_commit=False) == "fail"
    lite = load_backend("sqlite").errors
    assert lite.is_retryable(sa.exc.OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked")))


def test_commit_outcome_unknown_is_a_tidb_compat_error() -> None:
    assert issubclass(CommitOutcomeUnknown, tidb_compat.TidbCompatError)
    assert CommitOutcomeUnknown("lost", attempt=2).attempt == 2
