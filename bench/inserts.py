"""Section 1: bulk insert of a real service model (the knowledge service's Chunk).

- ``repository bulk_create``: :meth:`tidb_compat.repository.Repository.bulk_create` on the
  service's own engine (client-generated UUID keys, 1000 objects per flush);
- ``ORM bulk insert (dicts)``: ``session.execute(insert(Chunk), rows)`` in ``run_transaction``
  on the same engine and types (what a ``bulk_insert(rows)`` repository method would do);
- ``naive ORM add_all``: the same columns on a plain-stack model with an autoincrement key and
  ``sa.JSON``, on SQLAlchemy's own engine; on MariaDB with RETURNING switched off (TiDB/MySQL);
- ``raw executemany``: the driver alone (PyMySQL, psycopg, sqlite3), values encoded by hand.

MariaDB runs with RETURNING off for every case, as on TiDB and MySQL.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from knowledge_service.models import Chunk
from knowledge_service.repository import ChunkRepository
from sqlalchemy.orm import Session

from tidb_compat import run_transaction

from .common import RawDriver, Target, log, measure, plain_engine, raw_driver, without_returning
from .fixtures import Fixture, chunk_rows, delete_bulk_rows, service_database
from .models import NaiveChunk

REPOSITORY = "repository bulk_create"
ORM_BULK = "ORM bulk insert (dicts)"
NAIVE = "naive ORM add_all (autoincrement key)"
RAW = "raw executemany"
CASES = (REPOSITORY, ORM_BULK, NAIVE, RAW)


def naive_rows(rtt_ms: float, rows: int, quick: bool) -> int:
    """Rows for the naive case, which sends one INSERT per row on MariaDB: scaled down with
    latency (rows/s are compared, and its cost is linear in the row count)."""
    if rtt_ms >= 5:
        return 100 if quick else 500
    if rtt_ms >= 1:
        return 300 if quick else 2000
    return rows


def _raw_insert(raw: RawDriver, connection: Any, document_id: uuid.UUID, rows: list[dict[str, Any]]) -> None:
    p = raw.p
    statement = (f"INSERT INTO chunks (id, document_id, ordinal, text, metadata, embedding) "
                 f"VALUES ({p}, {p}, {p}, {p}, {p}, {p})")
    document = raw.key(document_id)
    params = [
        (raw.key(uuid.uuid4()), document, i, row["text"], raw.json_param(row["meta"]),
         raw.array_param(row["embedding"]))
        for i, row in enumerate(rows)
    ]
    cursor = connection.cursor()
    cursor.executemany(statement, params)
    cursor.close()
    connection.commit()


def run(found: Target, fixture: Fixture, *, rows: int, repeats: int, quick: bool) -> list[dict[str, Any]]:
    log(f"bulk insert on {found.label}")
    database = service_database(found)
    naive_engine = plain_engine(found)
    if found.backend == "mariadb":
        without_returning(database.engine)
        without_returning(naive_engine)
    repository = database.repository(ChunkRepository)
    raw = raw_driver(found)
    raw_connection = raw.connect()
    inputs = chunk_rows(rows)
    naive_count = naive_rows(found.rtt_ms, rows, quick)
    document_id = fixture.bulk_document_id
    counts: dict[str, int | None] = {}

    def repository_case() -> None:
        repository.bulk_create([Chunk(document_id=document_id, ordinal=i, **row) for i, row in enumerate(inputs)])

    def orm_bulk_case() -> None:
        values = [{"id": uuid.uuid4(), "document_id": document_id, "ordinal": i, **row} for i, row in enumerate(inputs)]
        run_transaction(database.sessions, lambda session: session.execute(sa.insert(Chunk), values))

    def naive_case() -> None:
        with Session(naive_engine) as session:
            session.add_all([NaiveChunk(document_id=str(document_id), ordinal=i, **row)
                             for i, row in enumerate(inputs[:naive_count])])
            session.commit()

    def raw_case() -> None:
        _raw_insert(raw, raw_connection, document_id, inputs)

    def before(name: str) -> None:
        delete_bulk_rows(database.engine, fixture)
        found.reset_round_trips()

    def after(name: str) -> None:
        counts[name] = found.round_trips()

    try:
        times = measure({REPOSITORY: repository_case, ORM_BULK: orm_bulk_case, NAIVE: naive_case, RAW: raw_case},
                        repeats, before, after)
        statements = count_statements(found, fixture, rows, naive_count) if found.backend == "mariadb" and \
            found.rtt_ms == 0 else {}
        delete_bulk_rows(database.engine, fixture)
    finally:
        raw_connection.close()
        naive_engine.dispose()
        database.dispose()
    results = []
    for name in CASES:
        count = naive_count if name == NAIVE else rows
        results.append({
            "backend": found.backend, "rtt_ms": found.rtt_ms, "measured_rtt_ms": found.measured_rtt_ms,
            "case": name, "rows": count, "seconds": round(times[name], 4),
            "rows_per_s": round(count / times[name]), "round_trips": counts.get(name),
            "statements": statements.get(name),
            "returning": "off" if found.backend == "mariadb" else "on",
        })
    return results


def count_statements(found: Target, fixture: Fixture, rows: int, naive_count: int) -> dict[str, int]:
    """INSERT statements each case sends on MariaDB (``Com_insert`` of its one connection)."""
    inputs = chunk_rows(rows)
    document_id = fixture.bulk_document_id
    counted: dict[str, int] = {}
    database = service_database(found, pool_size=1, max_overflow=0)
    naive_engine = plain_engine(found, pool_size=1, max_overflow=0)
    without_returning(database.engine)
    without_returning(naive_engine)

    def com_insert(engine: sa.Engine) -> int:
        with engine.connect() as connection:
            row = connection.exec_driver_sql("SHOW SESSION STATUS LIKE 'Com_insert'").one()
            return int(row[1])

    try:
        delete_bulk_rows(database.engine, fixture)
        start = com_insert(database.engine)
        database.repository(ChunkRepository).bulk_create(
            [Chunk(document_id=document_id, ordinal=i, **row) for i, row in enumerate(inputs)])
        counted[REPOSITORY] = com_insert(database.engine) - start

        delete_bulk_rows(database.engine, fixture)
        start = com_insert(database.engine)
        values = [{"id": uuid.uuid4(), "document_id": document_id, "ordinal": i, **row} for i, row in enumerate(inputs)]
        run_transaction(database.sessions, lambda session: session.execute(sa.insert(Chunk), values))
        counted[ORM_BULK] = com_insert(database.engine) - start

        start = com_insert(naive_engine)
        with Session(naive_engine) as session:
            session.add_all([NaiveChunk(document_id=str(document_id), ordinal=i, **row)
                             for i, row in enumerate(inputs[:naive_count])])
            session.commit()
        counted[NAIVE] = com_insert(naive_engine) - start

        delete_bulk_rows(database.engine, fixture)
        raw = raw_driver(found)
        connection = raw.connect()
        try:
            cursor = connection.cursor()
            cursor.execute("SHOW SESSION STATUS LIKE 'Com_insert'")
            start = int(cursor.fetchone()[1])
            _raw_insert(raw, connection, document_id, inputs)
            cursor.execute("SHOW SESSION STATUS LIKE 'Com_insert'")
            counted[RAW] = int(cursor.fetchone()[1]) - start
            cursor.close()
        finally:
            connection.close()
    finally:
        naive_engine.dispose()
        database.dispose()
    return counted
