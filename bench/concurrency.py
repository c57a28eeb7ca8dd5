"""Section 4: 50 concurrent workers doing point reads (MariaDB through the latency proxy).

- raw aiomysql: a pool of 50 connections, 50 tasks;
- async repository: ``AsyncChunkRepository.get`` on an engine with 50 connections, 50 tasks;
- raw PyMySQL: 50 threads, one connection each;
- sync repository: ``ChunkRepository.get`` from 50 threads, engine with 50 connections;
- raw PyMySQL sequential, one connection (the reference without concurrency).

Every worker does the same share of ``operations`` reads.  The cases run one after the
other (each with its own connections), not interleaved.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from knowledge_service.repository import AsyncChunkRepository, ChunkRepository

from .common import CHUNK_COLUMNS, Target, log, measure, raw_driver
from .fixtures import Fixture, service_database

WORKERS = 50


def _drain(results: Iterator[None]) -> None:
    """Wait for every worker (and raise the first error)."""
    for _ in results:
        pass


def run(found: Target, fixture: Fixture, *, operations: int, repeats: int) -> list[dict[str, Any]]:
    """Each case opens its connections, warms up, runs ``repeats`` times and closes them before
    the next case (all at once would pass MariaDB's default ``max_connections`` of 151)."""
    log(f"concurrency ({WORKERS} workers) on {found.label}")
    per_worker = operations // WORKERS
    total = per_worker * WORKERS
    keys = fixture.chunk_ids
    raw = raw_driver(found)
    select_sql = f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id = {raw.p}"
    loop = asyncio.new_event_loop()

    def key(worker: int, i: int) -> Any:
        return keys[(worker * per_worker + i) % len(keys)]

    def gather(worker: Callable[[int], Coroutine[Any, Any, None]]) -> Callable[[], None]:
        async def all_workers() -> None:
            await asyncio.gather(*(worker(w) for w in range(WORKERS)))
        return lambda: loop.run_until_complete(all_workers())

    @contextmanager
    def raw_aiomysql() -> Iterator[Callable[[], None]]:
        import aiomysql

        url = raw.url
        pool = loop.run_until_complete(aiomysql.create_pool(
            host=url.host, port=url.port or 3306, user=url.username, password=url.password or "", db=url.database,
            charset="utf8mb4", autocommit=True, minsize=WORKERS, maxsize=WORKERS))

        async def worker(w: int) -> None:
            for i in range(per_worker):
                async with pool.acquire() as connection, connection.cursor() as cursor:
                    await cursor.execute(select_sql, (raw.key(key(w, i)),))
                    raw.decode_chunk(await cursor.fetchone())

        try:
            yield gather(worker)
        finally:
            pool.close()
            loop.run_until_complete(pool.wait_closed())

    @contextmanager
    def async_repository() -> Iterator[Callable[[], None]]:
        database = service_database(found, pool_size=WORKERS, max_overflow=0)
        repository = database.repository(AsyncChunkRepository)

        async def worker(w: int) -> None:
            for i in range(per_worker):
                await repository.get(key(w, i))

        try:
            yield gather(worker)
        finally:
            loop.run_until_complete(database.async_read_engine.dispose())
            loop.run_until_complete(database.async_engine.dispose())
            database.dispose()

    @contextmanager
    def raw_threads() -> Iterator[Callable[[], None]]:
        local = threading.local()
        opened: list[Any] = []
        lock = threading.Lock()

        def worker(w: int) -> None:
            connection = getattr(local, "connection", None)
            if connection is None:
                connection = local.connection = raw.connect(autocommit=True)
                with lock:
                    opened.append(connection)
            cursor = connection.cursor()
            for i in range(per_worker):
                cursor.execute(select_sql, (raw.key(key(w, i)),))
                raw.decode_chunk(cursor.fetchone())
            cursor.close()

        with ThreadPoolExecutor(max_workers=WORKERS) as threads:
            try:
                yield lambda: _drain(threads.map(worker, range(WORKERS)))
            finally:
                threads.shutdown(wait=True)
                for connection in opened:
                    connection.close()

    @contextmanager
    def sync_repository() -> Iterator[Callable[[], None]]:
        database = service_database(found, pool_size=WORKERS, max_overflow=0)
        repository = database.repository(ChunkRepository)

        def worker(w: int) -> None:
            for i in range(per_worker):
                repository.get(key(w, i))

        with ThreadPoolExecutor(max_workers=WORKERS) as threads:
            try:
                yield lambda: _drain(threads.map(worker, range(WORKERS)))
            finally:
                database.dispose()

    @contextmanager
    def sequential() -> Iterator[Callable[[], None]]:
        connection = raw.connect(autocommit=True)

        def run_all() -> None:
            cursor = connection.cursor()
            for i in range(total):
                cursor.execute(select_sql, (raw.key(keys[i % len(keys)]),))
                raw.decode_chunk(cursor.fetchone())
            cursor.close()

        try:
            yield run_all
        finally:
            connection.close()

    cases: dict[str, Callable[[], AbstractContextManager[Callable[[], None]]]] = {
        "raw aiomysql, 50 tasks": raw_aiomysql,
        "async repository, 50 tasks": async_repository,
        "raw PyMySQL, 50 threads": raw_threads,
        "sync repository, 50 threads": sync_repository,
        "raw PyMySQL, sequential": sequential,
    }
    times: dict[str, float] = {}
    try:
        for name, setup in cases.items():
            with setup() as case:
                case()  # warm up: open every pooled connection
                times.update(measure({name: case}, repeats))
    finally:
        loop.close()
    reference = times["raw aiomysql, 50 tasks"]
    return [
        {"backend": found.backend, "rtt_ms": found.rtt_ms, "measured_rtt_ms": found.measured_rtt_ms, "case": name,
         "operations": total, "seconds": round(seconds, 4), "ops_per_s": round(total / seconds),
         "ratio_vs_raw_aiomysql": round(seconds / reference, 3)}
        for name, seconds in times.items()
    ]
