"""A throwaway ``mariadbd`` stopped and started again under running pools.

While the server is down, every operation fails with a clear one-line error (can't connect),
bounded by the connect timeout and the pool timeout: nothing hangs (the bounds asserted are
generous: this is a hang check, not a performance check).  Once it is back, the next
operations succeed (pre-ping replaces the pooled connections the restart killed), and no
committed data is lost.  Sync (PyMySQL) and async (aiomysql).

Runs in the ``mariadb`` session only, like the TLS tests; under ``CI=true`` a machine that
cannot start ``mariadbd`` fails these tests instead of skipping them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

import tidb_compat
from tidb_compat import DatabaseSettings
from tidb_compat.errors import CommitOutcomeUnknown
from tidb_compat.retry import run_transaction

from ..servers import APP_PASSWORD, ThrowawayMariaDB, readable_tempdir, require_throwaway
from .workload import RetryLog, counter_table, counters, create_counters, increment

HANG_BOUND = 30.0
"""No single operation may take longer than this while the server is down."""


@pytest.fixture(scope="module")
def server(backend_name: str) -> Iterator[ThrowawayMariaDB]:
    require_throwaway(backend_name)
    with readable_tempdir("tidb-compat-restart-") as root:
        instance = ThrowawayMariaDB(root)
        try:
            instance.start()
            yield instance
        finally:
            instance.stop()


def _settings(server: ThrowawayMariaDB, driver: str = "pymysql", *, pooled: bool = True) -> DatabaseSettings:
    """Short connect and pool timeouts (the pool timeout only for pooled engines: with
    NullPool, create_engine refuses a pool_timeout)."""
    if not pooled:
        return DatabaseSettings.from_url(server.url(driver=driver), connect_timeout=3)
    return DatabaseSettings.from_url(server.url(driver=driver), connect_timeout=3, pool_timeout=5.0)


@pytest.fixture
def counter(server: ThrowawayMariaDB) -> sa.Table:
    if not server.running:
        server.start()
    engine = tidb_compat.create_engine(_settings(server, pooled=False), poolclass=sa.pool.NullPool)
    table = counter_table(sa.MetaData(), "restart_counter")
    table.drop(engine, checkfirst=True)
    create_counters(engine, table, [1])
    engine.dispose()
    return table


def _timed(operation: Callable[[], object]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        operation()
    except Exception as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


def _assert_clear_connect_error(error: BaseException | None, elapsed: float, engine: Engine) -> None:
    assert isinstance(error, sa.exc.OperationalError), repr(error)
    assert elapsed < HANG_BOUND
    errors = tidb_compat.get_backend(engine).errors
    line = errors.describe(error)
    assert "\n" not in line and "Can't connect" in line, line
    assert errors.is_connection_lost(error)
    assert APP_PASSWORD not in str(error) and APP_PASSWORD not in line


def test_pools_fail_fast_while_down_and_recover_after_restart(server: ThrowawayMariaDB, counter: sa.Table) -> None:
    engine = tidb_compat.create_engine(_settings(server), pool_size=2, max_overflow=0)
    aengine = tidb_compat.create_async_engine(_settings(server, "aiomysql"), pool_size=2, max_overflow=0)
    loop = asyncio.new_event_loop()

    async def async_select() -> int:
        async with aengine.connect() as connection:
            return int((await connection.exec_driver_sql("SELECT 1")).scalar_one())

    def select() -> int:
        with engine.connect() as connection:
            return int(connection.exec_driver_sql("SELECT 1").scalar_one())

    def add_one(connection: Connection) -> None:
        connection.execute(increment(counter, 1))

    log = RetryLog()
    try:
        held = [engine.connect() for _ in range(2)]  # fill the pools
        for connection in held:
            connection.close()
        assert loop.run_until_complete(async_select()) == 1
        run_transaction(engine, add_one)

        server.stop()
        for operation in (select, lambda: loop.run_until_complete(async_select()), select):
            error, elapsed = _timed(operation)
            _assert_clear_connect_error(error, elapsed, engine)
        error, elapsed = _timed(lambda: run_transaction(engine, add_one, on_retry=log))
        _assert_clear_connect_error(error, elapsed, engine)
        assert log.count == 0  # a server that cannot be reached is reported at once, not retried

        server.start()
        assert select() == 1
        assert loop.run_until_complete(async_select()) == 1
        run_transaction(engine, add_one)
        assert counters(engine, counter) == {1: 2}  # committed data survived the restart
    finally:
        loop.run_until_complete(aengine.dispose())
        loop.close()
        engine.dispose()


@dataclass
class _Outcomes:
    ok: int = 0
    unknown: int = 0
    errors: list[BaseException] = field(default_factory=list)
    slowest: float = 0.0
    ok_after_restart: int = 0


def test_restart_under_a_running_pool(server: ThrowawayMariaDB, counter: sa.Table) -> None:
    """A worker keeps incrementing through run_transaction while the server restarts."""
    engine = tidb_compat.create_engine(_settings(server), pool_size=2, max_overflow=0)
    outcomes = _Outcomes()
    stop = threading.Event()
    restarted = threading.Event()

    def add_one(connection: Connection) -> None:
        connection.execute(increment(counter, 1))

    def worker() -> None:
        deadline = time.monotonic() + 90
        while not stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            try:
                run_transaction(engine, add_one, max_attempts=3, initial_backoff=0.01)
            except CommitOutcomeUnknown:
                outcomes.unknown += 1
            except Exception as exc:
                outcomes.errors.append(exc)
                stop.wait(0.02)  # the server is down: do not spin
            else:
                outcomes.ok += 1
                if restarted.is_set():
                    outcomes.ok_after_restart += 1
            outcomes.slowest = max(outcomes.slowest, time.monotonic() - started)

    def wait_for(condition: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert condition(), "timed out"

    thread = threading.Thread(target=worker, name="restart-worker")
    thread.start()
    try:
        wait_for(lambda: outcomes.ok >= 10, 30)
        server.stop()
        wait_for(lambda: len(outcomes.errors) >= 3, 30)
        server.start()
        restarted.set()
        wait_for(lambda: outcomes.ok_after_restart >= 10, 30)
    finally:
        stop.set()
        thread.join(timeout=60)
        alive = thread.is_alive()
        engine.dispose()
    assert not alive, "the worker hung"
    assert outcomes.slowest < HANG_BOUND
    errors = tidb_compat.get_backend(engine).errors
    for error in outcomes.errors:
        assert isinstance(error, sa.exc.DBAPIError) and errors.is_connection_lost(error), repr(error)
        assert APP_PASSWORD not in str(error)
    # Every success was committed once; a commit whose outcome was unknown may or may not be there.
    check = tidb_compat.create_engine(_settings(server, pooled=False), poolclass=sa.pool.NullPool)
    try:
        value = counters(check, counter)[1]
    finally:
        check.dispose()
    assert outcomes.ok <= value <= outcomes.ok + outcomes.unknown
