"""Pooled connections killed from another session (MariaDB ``KILL CONNECTION``,
PostgreSQL ``pg_terminate_backend``).

- Outside transactions, the pool's pre-ping notices the dead connections and replaces them:
  the application sees no error at all.
- Inside ``run_transaction``, a connection killed mid-transaction loses the transaction (the
  server rolls it back); the work is redone on a new connection, exactly once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection

import tidb_compat
from tidb_compat.retry import run_transaction, run_transaction_async

from .workload import (
    RetryLog,
    alive,
    connection_id,
    connection_id_async,
    counter_table,
    counters,
    create_counters,
    increment,
    kill,
)

POOL_SIZE = 3


@pytest.fixture
def admin(database_url: str, backend_name: str) -> Iterator[Engine]:
    if backend_name == "sqlite":
        pytest.skip("SQLite has no server sessions to kill")
    if backend_name not in ("mariadb", "postgresql"):
        pytest.skip(f"the KILL tests are written for MariaDB and PostgreSQL, not verified on {backend_name}")
    engine = tidb_compat.create_engine(database_url, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def pool(database_url: str, admin: Engine) -> Iterator[Engine]:
    engine = tidb_compat.create_engine(database_url, pool_size=POOL_SIZE, max_overflow=0, pool_timeout=10)
    yield engine
    engine.dispose()


def _fill_pool(pool: Engine, backend_name: str) -> set[int]:
    """Check out every connection of the pool at once, so the pool holds POOL_SIZE
    distinct server sessions; their ids."""
    connections = [pool.connect() for _ in range(POOL_SIZE)]
    try:
        return {connection_id(connection, backend_name) for connection in connections}
    finally:
        for connection in connections:
            connection.close()


def test_killed_pooled_connections_are_replaced_without_errors(
    pool: Engine, admin: Engine, backend_name: str
) -> None:
    before = _fill_pool(pool, backend_name)
    assert len(before) == POOL_SIZE
    for server_id in before:
        kill(admin, backend_name, server_id)
    assert alive(admin, backend_name, before) == set()
    # Use the whole pool again, all connections at once: pre-ping replaces every dead one.
    after = _fill_pool(pool, backend_name)
    assert len(after) == POOL_SIZE and not after & before
    with pool.connect() as connection:
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1


def test_connection_killed_inside_run_transaction_is_redone(
    pool: Engine, admin: Engine, backend_name: str, engine: Engine, metadata: sa.MetaData, table_name: str
) -> None:
    table = counter_table(metadata, table_name)
    create_counters(engine, table, [1])
    log = RetryLog()
    killed: list[int] = []

    def work(connection: Connection) -> int:
        server_id = connection_id(connection, backend_name)
        connection.execute(increment(table, 1))
        if not killed:  # the first attempt loses its connection half-way
            killed.append(server_id)
            kill(admin, backend_name, server_id)
        connection.execute(increment(table, 1))
        return server_id

    server_id = run_transaction(pool, work, on_retry=log)
    assert server_id != killed[0]
    assert [attempt for attempt, _ in log.calls] == [1]
    assert tidb_compat.get_backend(pool).errors.is_connection_lost(log.calls[0][1])
    assert counters(engine, table) == {1: 2}  # the killed attempt's increment was rolled back


def test_async_connection_killed_inside_run_transaction_is_redone(
    database_url: str, admin: Engine, backend_name: str, engine: Engine, metadata: sa.MetaData, table_name: str
) -> None:
    table = counter_table(metadata, table_name)
    create_counters(engine, table, [1])
    log = RetryLog()
    killed: list[int] = []

    async def main() -> None:
        aengine = tidb_compat.create_async_engine(database_url, pool_size=2)
        try:
            async def work(connection: AsyncConnection) -> None:
                server_id = await connection_id_async(connection, backend_name)
                await connection.execute(increment(table, 1))
                if not killed:
                    killed.append(server_id)
                    await asyncio.to_thread(kill, admin, backend_name, server_id)
                await connection.execute(increment(table, 1))

            await run_transaction_async(aengine, work, on_retry=log)
            # and the pool, whose connection was killed, serves the next caller without error
            async with aengine.connect() as connection:
                assert await connection_id_async(connection, backend_name) != killed[0]
        finally:
            await aengine.dispose()

    asyncio.run(asyncio.wait_for(main(), timeout=60))
    assert log.count == 1
    assert counters(engine, table) == {1: 2}
