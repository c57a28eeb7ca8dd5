"""Section 3: point reads and small transactions through the service repositories, sync and
async, next to the raw driver (PyMySQL / aiomysql, psycopg, sqlite3 / aiosqlite) doing the
same work (the row's JSON and UUID columns decoded).

- point read: ``ChunkRepository.get(key)`` (a new Session on the autocommit read engine) vs
  one raw autocommit connection running ``SELECT ... WHERE id = %s``; also the plain stack
  (SQLAlchemy's engine with ``pool_pre_ping=True``, ``Session.get``), one Session kept for
  all reads, and a Core ``select`` per ``connect()`` on the read engine, for reference;
- update: ``repository.update(key, text=...)`` (SELECT, UPDATE, COMMIT in ``run_transaction``)
  vs the same three statements raw;
- create: ``repository.create(...)`` (INSERT, COMMIT) vs raw INSERT + COMMIT.

Round trips per operation are counted at the proxy (targets with latency).
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import sqlalchemy as sa
from knowledge_service.models import Chunk
from knowledge_service.repository import AsyncChunkRepository, ChunkRepository
from sqlalchemy.orm import Session

from .common import CHUNK_COLUMNS, RawDriver, Target, log, measure, plain_engine, raw_driver
from .fixtures import Fixture, chunk_values, service_database

GET = "point read"
UPDATE = "update (read-modify-write)"
CREATE = "create one row"
KEPT_SESSION = "Session.get, one Session for all reads"
"""For comparison: the per-call Session of the repository, taken away."""
CORE_CONNECT = "Core select, read_engine.connect() each"
"""For comparison: no ORM, the same engine and types."""
WARM_UP = 20
"""Operations run before timing (connections, statement caches) and to count round trips."""


def operation_counts(rtt_ms: float, quick: bool) -> tuple[int, int]:
    """(point reads, transactions) per run: fewer at latency (each costs at least one RTT)."""
    if rtt_ms > 0:
        return (100, 50) if quick else (300, 150)
    return (500, 150) if quick else (2000, 500)


def run(found: Target, fixture: Fixture, *, repeats: int, quick: bool) -> list[dict[str, Any]]:
    log(f"point reads and small transactions on {found.label}")
    reads, writes = operation_counts(found.rtt_ms, quick)
    database = service_database(found)
    repository = database.repository(ChunkRepository)
    async_repository = database.repository(AsyncChunkRepository)
    plain = plain_engine(found, pool_pre_ping=True)
    raw = raw_driver(found)
    reader = raw.connect(autocommit=True)
    writer = raw.connect()
    loop = asyncio.new_event_loop()
    areader = loop.run_until_complete(raw.aconnect(autocommit=True))
    awriter = loop.run_until_complete(raw.aconnect())
    keys = itertools.cycle(fixture.chunk_ids)
    serial = itertools.count()  # every update writes a new text (an unchanged value sends no UPDATE)
    p = raw.p
    select_sql = f"SELECT {CHUNK_COLUMNS} FROM chunks WHERE id = {p}"
    update_sql = f"UPDATE chunks SET text = {p} WHERE id = {p}"
    insert_sql = (f"INSERT INTO chunks (id, document_id, ordinal, text, metadata, embedding) "
                  f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})")

    def run_async(factory: Callable[[int], Coroutine[Any, Any, None]]) -> Callable[[int], None]:
        return lambda count: loop.run_until_complete(factory(count))

    # -- sync ---------------------------------------------------------------------------------
    def repo_get(count: int) -> None:
        for _ in range(count):
            repository.get(next(keys))

    def plain_get(count: int) -> None:
        for _ in range(count):
            with Session(plain) as session:
                session.get(Chunk, next(keys))

    def kept_session_get(count: int) -> None:
        with database.read_sessions() as session:
            for _ in range(count):
                session.get(Chunk, next(keys))
                session.expunge_all()

    def core_get(count: int) -> None:
        table = Chunk.__table__
        statement = sa.select(table).where(table.c.id == sa.bindparam("key"))
        for _ in range(count):
            with database.read_engine.connect() as connection:
                connection.execute(statement, {"key": next(keys)}).one()

    def raw_get(count: int) -> None:
        cursor = reader.cursor()
        for _ in range(count):
            cursor.execute(select_sql, (raw.key(next(keys)),))
            raw.decode_chunk(cursor.fetchone())
        cursor.close()

    def repo_update(count: int) -> None:
        for _i in range(count):
            repository.update(next(keys), text=f"updated {next(serial)}")

    def raw_update(count: int) -> None:
        cursor = writer.cursor()
        for _i in range(count):
            key = raw.key(next(keys))
            cursor.execute(select_sql, (key,))
            raw.decode_chunk(cursor.fetchone())
            cursor.execute(update_sql, (f"updated {next(serial)}", key))
            writer.commit()
        cursor.close()

    def repo_create(count: int) -> None:
        for _ in range(count):
            repository.create(document_id=fixture.read_document_id, ordinal=fixture.take_ordinal(),
                              **chunk_values(fixture.next_ordinal))

    def raw_create(count: int) -> None:
        cursor = writer.cursor()
        document = raw.key(fixture.read_document_id)
        for _ in range(count):
            ordinal = fixture.take_ordinal()
            row = chunk_values(ordinal)
            cursor.execute(insert_sql, (raw.key(uuid.uuid4()), document, ordinal, row["text"],
                                        raw.json_param(row["meta"]), raw.array_param(row["embedding"])))
            writer.commit()
        cursor.close()

    # -- async --------------------------------------------------------------------------------
    async def arepo_get(count: int) -> None:
        for _ in range(count):
            await async_repository.get(next(keys))

    async def araw_get(count: int) -> None:
        for _ in range(count):
            raw.decode_chunk(await raw.afetchone(areader, select_sql, (raw.key(next(keys)),)))

    async def arepo_update(count: int) -> None:
        for _i in range(count):
            await async_repository.update(next(keys), text=f"updated {next(serial)}")

    async def araw_update(count: int) -> None:
        for _i in range(count):
            key = raw.key(next(keys))
            raw.decode_chunk(await raw.afetchone(awriter, select_sql, (key,)))
            await raw.aexecute(awriter, update_sql, (f"updated {next(serial)}", key))
            await awriter.commit()

    groups: list[tuple[str, str, int, dict[str, Callable[[int], None]]]] = [
        ("sync", GET, reads, {"repository": repo_get, "raw": raw_get,
                              KEPT_SESSION: kept_session_get, CORE_CONNECT: core_get,
                              "plain SQLAlchemy Session.get (pre-ping)": plain_get}),
        ("sync", UPDATE, writes, {"repository": repo_update, "raw": raw_update}),
        ("sync", CREATE, writes, {"repository": repo_create, "raw": raw_create}),
        ("async", GET, reads, {"repository": run_async(arepo_get), "raw": run_async(araw_get)}),
        ("async", UPDATE, writes, {"repository": run_async(arepo_update), "raw": run_async(araw_update)}),
    ]
    results: list[dict[str, Any]] = []
    try:
        for mode, operation, count, cases in groups:
            for case in cases.values():  # warm up: connect, fill the statement caches
                case(WARM_UP)
            times = measure({name: _bound(case, count) for name, case in cases.items()}, repeats)
            trips = _round_trips(found, cases)
            for name, seconds in times.items():
                results.append({
                    "backend": found.backend, "rtt_ms": found.rtt_ms, "measured_rtt_ms": found.measured_rtt_ms,
                    "mode": mode, "operation": operation, "case": name, "operations": count,
                    "us_per_op": round(seconds / count * 1e6, 1), "ratio_vs_raw": round(seconds / times["raw"], 3),
                    "round_trips_per_op": trips.get(name),
                })
    finally:
        reader.close()
        writer.close()
        loop.run_until_complete(_aclose(raw, areader))
        loop.run_until_complete(_aclose(raw, awriter))
        loop.run_until_complete(database.async_engine.dispose())
        loop.run_until_complete(database.async_read_engine.dispose())
        loop.close()
        plain.dispose()
        database.dispose()
    return results


def _bound(case: Callable[[int], None], count: int) -> Callable[[], None]:
    return lambda: case(count)


def _round_trips(found: Target, cases: dict[str, Callable[[int], None]]) -> dict[str, float]:
    """Round trips per operation at the proxy (one more short run of each case, untimed)."""
    if found.proxy is None:
        return {}
    trips: dict[str, float] = {}
    for name, case in cases.items():
        case(1)  # the steady state: a connection used moments ago
        found.reset_round_trips()
        case(WARM_UP)
        trips[name] = round((found.round_trips() or 0) / WARM_UP, 2)
    return trips


async def _aclose(raw: RawDriver, connection: Any) -> None:
    if raw.backend == "mariadb":
        connection.close()
    else:
        await connection.close()
