"""Connections cut at chosen moments, and latency, through :class:`FaultProxy`.

- Cut before COMMIT was sent (on the UPDATE, whether the server executed it or not): the
  server rolls the transaction back, ``run_transaction`` runs it again: exactly one increment.
- Cut while COMMIT is in flight: ``CommitOutcomeUnknown``, not retried.  Both cases are
  checked: COMMIT forwarded (the server committed) and COMMIT never forwarded (it did not):
  the client cannot tell them apart, which is why the outcome is "unknown".
- 5 ms of latency per direction changes timings, not results.

MariaDB and PostgreSQL (the servers of the session, reached through the proxy on loopback).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Session, sessionmaker

import tidb_compat
from tidb_compat.errors import CommitOutcomeUnknown
from tidb_compat.retry import run_transaction, run_transaction_async

from .proxy import FaultProxy, MySQLClientParser, PostgreSQLClientParser, Protocol
from .workload import RetryLog, contention_engine, counter_table, counters, create_counters, increment

PROTOCOLS: dict[str, Protocol] = {"mariadb": "mysql", "postgresql": "postgresql"}


@dataclass
class Proxied:
    proxy: FaultProxy
    url: str
    engine: Engine


def _proxied_url(database_url: str, backend_name: str) -> tuple[str, int]:
    if backend_name not in PROTOCOLS:
        pytest.skip(f"the proxy speaks the MariaDB and PostgreSQL protocols; not {backend_name}")
    url = make_url(database_url)
    if url.host not in ("127.0.0.1", "localhost", "::1"):
        pytest.skip("the proxy forwards to loopback servers only")
    return url.host, url.port or (3306 if backend_name == "mariadb" else 5432)


@pytest.fixture
def proxied(database_url: str, backend_name: str) -> Iterator[Proxied]:
    host, port = _proxied_url(database_url, backend_name)
    with FaultProxy(host, port, protocol=PROTOCOLS[backend_name], max_connections=16, max_lifetime=60) as proxy:
        url = make_url(database_url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        engine = contention_engine(url, backend_name, pool_size=4)
        try:
            yield Proxied(proxy, url, engine)
        finally:
            engine.dispose()
        assert not proxy.expired


@pytest.fixture
def counter(engine: Engine, metadata: sa.MetaData, table_name: str) -> sa.Table:
    table = counter_table(metadata, table_name)
    create_counters(engine, table, [1])
    return table


@pytest.mark.parametrize("forward", [False, True], ids=["update-never-reached-the-server", "update-executed"])
def test_connection_cut_before_commit_is_retried_and_correct(
    proxied: Proxied, counter: sa.Table, engine: Engine, forward: bool
) -> None:
    proxied.proxy.arm_cut("UPDATE", forward=forward)
    log = RetryLog()
    runs = 0

    def work(connection: Connection) -> int:
        nonlocal runs
        runs += 1
        connection.execute(increment(counter, 1))
        return runs

    assert run_transaction(proxied.engine, work, on_retry=log) == 2
    assert proxied.proxy.cuts == 1
    assert [attempt for attempt, _ in log.calls] == [1]
    assert tidb_compat.get_backend(proxied.engine).errors.is_connection_lost(log.calls[0][1])
    assert counters(engine, counter) == {1: 1}  # once, although the UPDATE ran twice


@pytest.mark.parametrize("forward", [True, False], ids=["commit-reached-the-server", "commit-never-arrived"])
def test_connection_cut_during_commit_is_commit_outcome_unknown(
    proxied: Proxied, counter: sa.Table, engine: Engine, forward: bool
) -> None:
    proxied.proxy.arm_cut("COMMIT", forward=forward)
    log = RetryLog()
    runs = 0

    def work(connection: Connection) -> None:
        nonlocal runs
        runs += 1
        connection.execute(increment(counter, 1))

    with pytest.raises(CommitOutcomeUnknown, match="may or may not have been committed") as info:
        run_transaction(proxied.engine, work, on_retry=log)
    assert (runs, log.count, info.value.attempt) == (1, 0, 1)  # never retried
    assert isinstance(info.value.__cause__, sa.exc.DBAPIError)
    assert tidb_compat.get_backend(proxied.engine).errors.is_connection_lost(info.value.__cause__)
    assert proxied.proxy.cuts == 1
    # What the client cannot know: the server committed only if COMMIT reached it.
    assert counters(engine, counter) == {1: 1 if forward else 0}
    # The pool recovers: the next transaction goes through the proxy again.
    run_transaction(proxied.engine, work)
    assert counters(engine, counter) == {1: 2 if forward else 1}


def test_session_flush_cut_is_retried_not_unknown(proxied: Proxied, counter: sa.Table, engine: Engine) -> None:
    """With a sessionmaker, pending changes are flushed before COMMIT: a cut during the
    flush is "before COMMIT" (retried), not "during COMMIT"."""
    proxied.proxy.arm_cut("UPDATE", forward=True)
    log = RetryLog()

    def work(session: Session) -> None:
        session.execute(increment(counter, 1))

    run_transaction(sessionmaker(proxied.engine), work, on_retry=log)
    assert log.count == 1 and proxied.proxy.cuts == 1
    assert counters(engine, counter) == {1: 1}


def test_async_cuts_before_and_during_commit(
    proxied: Proxied, counter: sa.Table, engine: Engine, backend_name: str
) -> None:
    async def main() -> None:
        aengine = tidb_compat.create_async_engine(proxied.url, pool_size=2)
        log = RetryLog()
        try:
            async def work(connection: AsyncConnection) -> None:
                await connection.execute(increment(counter, 1))

            proxied.proxy.arm_cut("UPDATE", forward=False)
            await run_transaction_async(aengine, work, on_retry=log)
            assert log.count == 1
            proxied.proxy.arm_cut("COMMIT", forward=True)
            with pytest.raises(CommitOutcomeUnknown) as info:
                await run_transaction_async(aengine, work, on_retry=log)
            assert log.count == 1
            assert isinstance(info.value.__cause__, sa.exc.DBAPIError)
        finally:
            await aengine.dispose()

    asyncio.run(asyncio.wait_for(main(), timeout=60))
    assert proxied.proxy.cuts == 2
    assert counters(engine, counter) == {1: 2}  # one retried increment + one committed in flight


def test_latency_changes_timing_not_results(
    proxied: Proxied, engine: Engine, metadata: sa.MetaData, table_name: str
) -> None:
    threads, rounds = 2, 10
    table = counter_table(metadata, table_name)
    create_counters(engine, table, range(3))
    proxied.proxy.set_latency(0.005, 0.005)
    with proxied.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1").all()  # a pooled, set-up connection
        started = time.perf_counter()
        connection.exec_driver_sql("SELECT 1").all()
        assert time.perf_counter() - started >= 0.009  # 5 ms each way
        direct = engine.connect()
        try:
            query = sa.select(table.c.id, table.c.v).order_by(table.c.id)
            assert connection.execute(query).all() == direct.execute(query).all()
        finally:
            direct.close()
    log = RetryLog()
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        for round_ in range(rounds):
            first, second = (1, 2) if (index + round_) % 2 == 0 else (2, 1)

            def work(connection: Connection, first: int = first, second: int = second) -> None:
                connection.execute(increment(table, first))
                connection.execute(increment(table, second))
                connection.execute(increment(table, 0))

            try:
                run_transaction(proxied.engine, work, max_attempts=40, initial_backoff=0.002, max_backoff=0.05,
                                on_retry=log)
            except BaseException as exc:
                failures.append(exc)
                return

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in workers)
    assert not failures, failures
    assert counters(engine, table) == {0: threads * rounds, 1: threads * rounds, 2: threads * rounds}
    assert proxied.proxy.cuts == 0


# -- the proxy itself (no server needed) --------------------------------------------------


def _mysql_packet(sequence: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([sequence]) + payload


def _pg_message(kind: bytes, body: bytes) -> bytes:
    return kind + (len(body) + 4).to_bytes(4, "big") + body


def test_parsers_find_statements_across_chunk_boundaries() -> None:
    stream = (_mysql_packet(1, b"\x03COMMIT-not-a-command")  # handshake response: sequence 1
              + _mysql_packet(0, b"\x03UPDATE t SET v = 1") + _mysql_packet(0, b"\x03COMMIT"))
    parser = MySQLClientParser()
    found = [m.statement for i in range(0, len(stream), 3) for m in parser.feed(stream[i : i + 3])]
    assert found == [None, "UPDATE t SET v = 1", "COMMIT"]

    startup = (8 + 4).to_bytes(4, "big") + (196608).to_bytes(4, "big") + b"u\x00\x00\x00"
    stream = (startup + _pg_message(b"Q", b"BEGIN\x00")
              + _pg_message(b"P", b"\x00UPDATE t SET v = $1\x00\x00\x00") + _pg_message(b"S", b"")
              + _pg_message(b"Q", b"COMMIT\x00"))
    parser_pg = PostgreSQLClientParser()
    messages = [m for i in range(0, len(stream), 5) for m in parser_pg.feed(stream[i : i + 5])]
    assert [m.statement for m in messages] == [None, "BEGIN", "UPDATE t SET v = $1", None, "COMMIT"]
    assert messages[-1].end == len(stream)


def test_proxy_is_loopback_only_and_bounded() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("10.1.2.3", 3306, protocol="mysql")
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("db.example.com", 5432, protocol="postgresql")
    with socket.socket() as listener:  # a loopback "server" that accepts and holds connections
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        with FaultProxy("127.0.0.1", listener.getsockname()[1], protocol="mysql", max_connections=1,
                        max_lifetime=30) as proxy:
            first = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
            deadline = time.monotonic() + 5
            while proxy.accepted < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            second = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
            with contextlib.suppress(ConnectionResetError):  # over max_connections: closed at once
                assert second.recv(1) == b""
            assert (proxy.accepted, proxy.refused) == (1, 1)
            assert proxy.cut_all() == 1
            first.close()
            second.close()
