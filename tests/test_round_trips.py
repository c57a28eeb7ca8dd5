"""Round trips per operation, counted at the wire by the test proxy (MariaDB, PostgreSQL).

A point read through a new Session costs one round trip when the pooled connection was used
recently: the autocommit read engine sends no BEGIN/ROLLBACK, the idle-aware pre-ping sends no
ping, and a transactional engine rolls back once, not twice.  Counts, not timings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

import tidb_compat
from tidb_compat import DatabaseSettings

from .faults.proxy import FaultProxy


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "tc_round_trip_items"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(50))


@pytest.fixture(scope="module")
def proxy(backend_name: str, database_url: str, engine: sa.Engine) -> Iterator[FaultProxy]:
    if backend_name not in ("mariadb", "postgresql"):
        pytest.skip("counted through the loopback proxy in front of MariaDB/PostgreSQL")
    url = make_url(database_url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(Item), [{"id": i, "name": f"item {i}"} for i in range(10)])
    protocol = "postgresql" if backend_name == "postgresql" else "mysql"
    with FaultProxy(url.host or "127.0.0.1", url.port or (5432 if protocol == "postgresql" else 3306),
                    protocol=protocol) as running:
        yield running
    Base.metadata.drop_all(engine)


def _via_proxy(database_url: str, proxy: FaultProxy, **fields: Any) -> DatabaseSettings:
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    return DatabaseSettings.from_url(url, **fields)


def _point_read(sessions: sessionmaker[Session], key: int) -> Any:
    with sessions() as session:
        return session.get(Item, key)


def test_point_read_on_the_autocommit_engine_is_one_round_trip(proxy: FaultProxy, database_url: str) -> None:
    engine = tidb_compat.create_engine(_via_proxy(database_url, proxy), isolation_level="AUTOCOMMIT")
    sessions = sessionmaker(engine)
    try:
        _point_read(sessions, 1)  # connect, first use
        for key in (2, 3, 4):
            proxy.reset_counts()
            assert _point_read(sessions, key).name == f"item {key}"
            assert proxy.round_trips == 1, list(proxy.statements)
    finally:
        engine.dispose()


def test_transactional_read_rolls_back_once_and_does_not_ping(proxy: FaultProxy, database_url: str,
                                                              backend_name: str) -> None:
    engine = tidb_compat.create_engine(_via_proxy(database_url, proxy))
    sessions = sessionmaker(engine)
    try:
        _point_read(sessions, 1)
        proxy.reset_counts()
        _point_read(sessions, 2)
        statements = [s.strip().split()[0].upper() for s in proxy.statements]
        assert statements.count("ROLLBACK") == 1, statements
        # PyMySQL: SELECT + ROLLBACK; psycopg sends BEGIN on its own: BEGIN + SELECT + ROLLBACK.
        assert proxy.round_trips == (3 if backend_name == "postgresql" else 2), statements
    finally:
        engine.dispose()


def test_a_connection_idle_longer_than_ping_after_is_pinged(proxy: FaultProxy, database_url: str) -> None:
    engine = tidb_compat.create_engine(_via_proxy(database_url, proxy, pool_ping_after=0.2),
                                       isolation_level="AUTOCOMMIT")
    sessions = sessionmaker(engine)
    try:
        _point_read(sessions, 1)
        proxy.reset_counts()
        _point_read(sessions, 2)
        assert proxy.round_trips == 1
        time.sleep(0.4)
        proxy.reset_counts()
        _point_read(sessions, 3)
        assert proxy.round_trips == 2  # the ping, then the SELECT
    finally:
        engine.dispose()


def test_statement_cache_hits_on_repeated_point_reads(proxy: FaultProxy, database_url: str) -> None:
    engine = tidb_compat.create_engine(_via_proxy(database_url, proxy), isolation_level="AUTOCOMMIT")
    try:
        statement = sa.select(Item.name).where(Item.id == sa.bindparam("key"))
        with engine.connect() as connection:
            connection.execute(statement, {"key": 1}).all()
            result = connection.execute(statement, {"key": 2})
            assert result.context._get_cache_stats().startswith("cached since")
            assert result.scalar_one() == "item 2"
    finally:
        engine.dispose()


def test_uncommitted_raw_work_is_still_rolled_back_on_return(proxy: FaultProxy, database_url: str,
                                                            engine: sa.Engine) -> None:
    """Skipping the duplicate ROLLBACK must not skip a needed one: raw DBAPI work left open is
    rolled back when the connection goes back to the pool."""
    pooled = tidb_compat.create_engine(_via_proxy(database_url, proxy))
    try:
        raw = pooled.raw_connection()
        cursor = raw.cursor()
        cursor.execute("INSERT INTO tc_round_trip_items (id, name) VALUES (100, 'uncommitted')")
        cursor.close()
        raw.close()  # back to the pool, transaction still open
        with engine.connect() as other:
            assert other.execute(sa.select(sa.func.count()).where(Item.id == 100)).scalar_one() == 0
        with pooled.connect() as again:
            assert again.execute(sa.select(sa.func.count()).where(Item.id == 100)).scalar_one() == 0
    finally:
        pooled.dispose()


def test_async_point_read_on_the_autocommit_engine_is_one_round_trip(proxy: FaultProxy, database_url: str) -> None:
    async def run() -> list[int]:
        engine = tidb_compat.create_async_engine(_via_proxy(database_url, proxy), isolation_level="AUTOCOMMIT")
        sessions = async_sessionmaker(engine)
        counts = []
        try:
            for key in (1, 2, 3):
                proxy.reset_counts()
                async with sessions() as session:
                    item = await session.get(Item, key)
                    assert item is not None
                counts.append(proxy.round_trips)
        finally:
            await engine.dispose()
            await asyncio.sleep(0.05)
        return counts

    counts = asyncio.run(run())
    assert counts[1:] == [1, 1], counts
