"""What every benchmark section shares: targets (backend + latency), the latency proxy in a
child process, side-by-side timing, the benchmark database, and the raw drivers.

The latency proxy (``tests/faults/proxy.py``) runs in a child process, so its event loop does
not compete with the measured code for the GIL; the child also reports the proxy's
``round_trips`` counter.  Every loop here is bounded by a row or operation count.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

import tidb_compat

REPO = Path(__file__).resolve().parent.parent
DATABASE = "tidb_compat_bench"
SERVER_URLS = {
    "mariadb": os.environ.get("TIDB_COMPAT_BENCH_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
    "postgresql": os.environ.get("TIDB_COMPAT_BENCH_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/"),
}
PROXY_LIFETIME = 3600.0
"""Seconds the latency proxy lives at most (it also ends when the benchmark closes it)."""


def log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


# -- the latency proxy, in a child process ------------------------------------------------------

class ProxyProcess:
    """``tests.faults.proxy.FaultProxy`` in a child process (see :mod:`bench.proxy_child`)."""

    def __init__(self, host: str, port: int, protocol: str, one_way: float) -> None:
        self.one_way = one_way
        self._child = subprocess.Popen(
            [sys.executable, "-m", "bench.proxy_child", host, str(port), protocol, repr(one_way), repr(PROXY_LIFETIME)],
            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        self.port = int(self._ask(None))

    def _ask(self, command: str | None) -> str:
        assert self._child.stdin is not None
        assert self._child.stdout is not None
        if command is not None:
            self._child.stdin.write(command + "\n")
            self._child.stdin.flush()
        line = self._child.stdout.readline()
        if not line:
            raise RuntimeError(f"the latency proxy exited (code {self._child.poll()})")
        return line.strip()

    def reset(self) -> None:
        self._ask("reset")

    def set_one_way(self, seconds: float) -> None:
        self.one_way = seconds
        self._ask(f"latency {seconds!r}")

    @property
    def round_trips(self) -> int:
        return int(self._ask("count"))

    def close(self) -> None:
        if self._child.poll() is None:
            try:
                self._ask("stop")
                self._child.wait(timeout=15)
            except (RuntimeError, OSError, subprocess.TimeoutExpired):
                self._child.kill()
                self._child.wait(timeout=15)


# -- targets ------------------------------------------------------------------------------------

@dataclass
class Target:
    """One backend, reached directly or through the latency proxy."""

    backend: str
    """``mariadb``, ``postgresql`` or ``sqlite``."""
    url: str
    """The SQLAlchemy URL (through the proxy when ``rtt_ms`` > 0)."""
    rtt_ms: float = 0.0
    """Round-trip latency added by the proxy (0: loopback, no proxy)."""
    proxy: ProxyProcess | None = None
    measured_rtt_ms: float | None = None
    """Median raw ``SELECT 1`` time through this target, measured."""
    loopback_rtt_ms: float | None = None
    """The same without the proxy (what the added latency is measured against)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.backend} {self.rtt_ms:g} ms"

    def round_trips(self) -> int | None:
        return self.proxy.round_trips if self.proxy is not None else None

    def reset_round_trips(self) -> None:
        if self.proxy is not None:
            self.proxy.reset()

    def settings(self, **fields: Any) -> tidb_compat.DatabaseSettings:
        return tidb_compat.DatabaseSettings.from_url(self.url, **fields)

    @property
    def protocol(self) -> str:
        return "postgresql" if self.backend == "postgresql" else "mysql"


def server_url(backend: str, database: str | None = DATABASE) -> str:
    return make_url(SERVER_URLS[backend]).set(database=database).render_as_string(hide_password=False)


@contextmanager
def target(backend: str, rtt_ms: float, sqlite_path: Path | None = None) -> Iterator[Target]:
    """A target at ``rtt_ms`` (a proxy adding half of it in each direction when > 0)."""
    if backend == "sqlite":
        assert sqlite_path is not None
        yield Target(backend, f"sqlite:///{sqlite_path}")
        return
    url = make_url(server_url(backend))
    direct = Target(backend, url.render_as_string(hide_password=False))
    direct.measured_rtt_ms = direct.loopback_rtt_ms = measure_rtt(direct)
    if rtt_ms <= 0:
        yield direct
        return
    proxy = ProxyProcess(url.host or "127.0.0.1", url.port or (5432 if backend == "postgresql" else 3306),
                         "postgresql" if backend == "postgresql" else "mysql", rtt_ms / 2000.0)
    try:
        through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        found = Target(backend, through, rtt_ms, proxy, loopback_rtt_ms=direct.loopback_rtt_ms)
        _calibrate(found)
        yield found
    finally:
        proxy.close()


def _calibrate(found: Target, rounds: int = 4) -> None:
    """Adjust the proxy's delay until a raw ``SELECT 1`` takes the loopback time plus
    ``rtt_ms`` (the proxy's own forwarding and timer overshoot add some; within 5 %)."""
    assert found.proxy is not None
    assert found.loopback_rtt_ms is not None
    wanted = found.loopback_rtt_ms + found.rtt_ms
    for _ in range(rounds):
        found.measured_rtt_ms = measure_rtt(found, 100)
        error = found.measured_rtt_ms - wanted
        if abs(error) <= 0.05 * found.rtt_ms:
            break
        found.proxy.set_one_way(max(0.0, found.proxy.one_way - error / 2000.0))
    found.measured_rtt_ms = measure_rtt(found)


def measure_rtt(found: Target, count: int = 200) -> float:
    """Median milliseconds of a raw ``SELECT 1`` through ``found``."""
    raw = raw_driver(found)
    connection = raw.connect()
    try:
        times = []
        for _ in range(count):
            started = time.perf_counter()
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
            times.append(time.perf_counter() - started)
        return round(statistics.median(times) * 1000, 3)
    finally:
        connection.close()


# -- the benchmark database -----------------------------------------------------------------------

def ensure_database(backend: str) -> None:
    """Create ``tidb_compat_bench`` when missing (MariaDB, PostgreSQL)."""
    if backend == "mariadb":
        admin = sa.create_engine(server_url(backend, None), poolclass=sa.pool.NullPool)
        with admin.begin() as connection:
            connection.exec_driver_sql(
                f"CREATE DATABASE IF NOT EXISTS {DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            )
        admin.dispose()
    elif backend == "postgresql":
        admin = sa.create_engine(server_url(backend, "postgres"), poolclass=sa.pool.NullPool,
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                        {"n": DATABASE}).first()
            if not exists:
                connection.exec_driver_sql(f"CREATE DATABASE {DATABASE} ENCODING 'UTF8' TEMPLATE template0")
        admin.dispose()


def drop_database(backend: str) -> None:
    """Drop ``tidb_compat_bench`` (after its tables were dropped)."""
    if backend == "mariadb":
        admin = sa.create_engine(server_url(backend, None), poolclass=sa.pool.NullPool)
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE}")
        admin.dispose()
    elif backend == "postgresql":
        admin = sa.create_engine(server_url(backend, "postgres"), poolclass=sa.pool.NullPool,
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.dispose()


def plaintext_args(backend: str) -> dict[str, Any]:
    """Driver arguments that keep a loopback connection in plaintext, as tidb_compat does for
    loopback hosts: PyMySQL and psycopg would otherwise use TLS when the server offers it,
    and its cost would be counted against the baselines."""
    if backend == "mariadb":
        return {"ssl_disabled": True}
    if backend == "postgresql":
        return {"sslmode": "disable"}
    return {}


def plain_engine(found: Target, **kwargs: Any) -> sa.Engine:
    """SQLAlchemy's own engine, as a plain-stack application creates it (no tidb_compat;
    plaintext on loopback like every connection of the benchmarks)."""
    engine = sa.create_engine(found.url, connect_args=plaintext_args(found.backend), **kwargs)
    with engine.connect():
        pass  # the dialect initialises on the first connection
    if found.backend == "mariadb":
        engine.dialect.supports_native_uuid = False  # the tables store sa.Uuid as CHAR(32)
    return engine


def without_returning(engine: sa.Engine) -> sa.Engine:
    """Switch RETURNING off on a (connected) MariaDB engine: the TiDB / MySQL situation."""
    with engine.connect():
        pass
    dialect = engine.dialect
    dialect.insert_returning = False
    dialect.insert_executemany_returning = False
    dialect.insert_executemany_returning_sort_by_parameter_order = False
    dialect.update_returning = dialect.delete_returning = False
    return engine


# -- timing ---------------------------------------------------------------------------------------

def measure(cases: dict[str, Callable[[], object]], repeats: int,
            before: Callable[[str], object] | None = None,
            after: Callable[[str], object] | None = None) -> dict[str, float]:
    """Median seconds of each case; the cases run interleaved (side by side) in each repeat,
    with the cyclic garbage collector paused while a case runs (as ``timeit`` does);
    ``before(name)`` and ``after(name)`` run untimed around each run (cleanup, counts)."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, case in cases.items():
            if before is not None:
                before(name)
            gc.collect()
            gc.disable()  # as timeit does: a cyclic collection landing in one case skews the ratio
            try:
                started = time.perf_counter()
                case()
                times[name].append(time.perf_counter() - started)
            finally:
                gc.enable()
            if after is not None:
                after(name)
    return {name: statistics.median(values) for name, values in times.items()}


def ratio(value: float, reference: float) -> float:
    return round(value / reference, 3) if reference > 0 else float("nan")


# -- raw drivers ----------------------------------------------------------------------------------

@dataclass
class RawDriver:
    """The plain driver of a backend, for the baselines: PyMySQL / aiomysql, psycopg, sqlite3 /
    aiosqlite, in plaintext (aiomysql never uses TLS unasked).  ``p`` is the driver's
    placeholder."""

    backend: str
    url: sa.URL

    @property
    def p(self) -> str:
        return "?" if self.backend == "sqlite" else "%s"

    def connect(self, *, autocommit: bool = False) -> Any:
        url = self.url
        if self.backend == "mariadb":
            import pymysql

            return pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                                   database=url.database, charset="utf8mb4", autocommit=autocommit,
                                   ssl_disabled=True)
        if self.backend == "postgresql":
            import psycopg

            return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname=url.database,
                                   autocommit=autocommit, sslmode="disable")
        import sqlite3

        if autocommit:
            return sqlite3.connect(url.database or ":memory:", isolation_level=None)
        return sqlite3.connect(url.database or ":memory:")

    async def aconnect(self, *, autocommit: bool = False) -> Any:
        url = self.url
        if self.backend == "mariadb":
            import aiomysql

            return await aiomysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                                          password=url.password or "", db=url.database, charset="utf8mb4",
                                          autocommit=autocommit)
        if self.backend == "postgresql":
            import psycopg

            return await psycopg.AsyncConnection.connect(host=url.host, port=url.port or 5432, user=url.username,
                                                         dbname=url.database, autocommit=autocommit,
                                                         sslmode="disable")
        import aiosqlite

        return await aiosqlite.connect(url.database or ":memory:", isolation_level=None if autocommit else "")

    async def afetchone(self, connection: Any, statement: str, params: tuple[Any, ...]) -> Any:
        """One row of ``statement`` on an async connection."""
        if self.backend == "sqlite":
            async with connection.execute(statement, params) as cursor:
                return await cursor.fetchone()
        async with connection.cursor() as cursor:
            await cursor.execute(statement, params)
            return await cursor.fetchone()

    async def aexecute(self, connection: Any, statement: str, params: tuple[Any, ...]) -> None:
        if self.backend == "sqlite":
            await connection.execute(statement, params)
            return
        async with connection.cursor() as cursor:
            await cursor.execute(statement, params)

    # Values as a plain application hands them to the driver, and back.
    def key(self, value: uuid.UUID) -> Any:
        return value if self.backend == "postgresql" else value.hex

    def json_param(self, value: Any) -> Any:
        if self.backend == "postgresql":
            from psycopg.types.json import Jsonb

            return Jsonb(value)
        return json.dumps(value)

    def array_param(self, value: list[Any]) -> Any:
        return value if self.backend == "postgresql" else json.dumps(value)

    def decode_chunk(self, row: Any) -> tuple[Any, ...]:
        """(id, document_id, ordinal, text, meta, embedding, created_at) as Python values."""
        ident, document, ordinal, text, meta, embedding, created = row
        if self.backend == "postgresql":
            return row  # type: ignore[no-any-return]
        created_at = created if not isinstance(created, str) else _parse_sqlite_time(created)
        return (uuid.UUID(ident), uuid.UUID(document), ordinal, text, json.loads(meta),
                json.loads(embedding) if embedding is not None else None, created_at)


def _parse_sqlite_time(text: str) -> Any:
    import datetime as dt

    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def raw_driver(found: Target) -> RawDriver:
    return RawDriver(found.backend, make_url(found.url))


CHUNK_COLUMNS = "id, document_id, ordinal, text, metadata, embedding, created_at"
