"""The knowledge service on the session's backend: migrations, CLI, chunks, queries, cascades."""

from __future__ import annotations

import asyncio
import math
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from knowledge_service.models import Chunk, Document
from knowledge_service.repository import (
    AsyncChunkRepository,
    AsyncDocumentRepository,
    ChunkRepository,
    CollectionRepository,
    DocumentRepository,
    TagRepository,
    cosine,
)

from tidb_compat.service import ServiceDatabase
from tidb_compat.testing import ServiceContract


class TestKnowledgeServiceContract(ServiceContract):
    alembic_ini = Path(__file__).resolve().parents[1] / "alembic.ini"
    cli_module = "knowledge_service.cli"


def _chunks(n: int, dims: int = 8) -> list[dict[str, Any]]:
    return [
        {"text": f"chunk {i} ünïcødé 😀", "meta": {"page": i // 10, "kind": "body" if i % 3 else "heading"},
         "embedding": [math.sin(i + d) for d in range(dims)]}
        for i in range(n)
    ]


def test_document_with_chunks_round_trip(service_db: ServiceDatabase) -> None:
    collections, documents = CollectionRepository(service_db.sessions), DocumentRepository(service_db.sessions)
    chunks = ChunkRepository(service_db.sessions)
    collection = collections.create(owner_user_id=uuid.uuid4(), project_id=uuid.uuid4(), name="Specs")
    source = _chunks(25)
    document = documents.add_with_chunks(
        Document(collection_id=collection.id, title="Spec", meta={"lang": "en", "author": {"name": "Ada"}},
                 tags=["spec", "v1"]), source)
    stored = chunks.for_document(document.id)
    assert [c.ordinal for c in stored] == list(range(25))
    assert [c.text for c in stored] == [s["text"] for s in source]
    assert [c.embedding for c in stored] == [s["embedding"] for s in source]  # floats exact
    assert [c.meta for c in stored] == [s["meta"] for s in source]
    assert [d.id for d in documents.with_meta(collection.id, lang="en")] == [document.id]
    assert documents.with_meta(collection.id, lang="EN") == []
    assert [d.id for d in documents.by_meta_text(collection.id, ("author", "name"), "Ada")] == [document.id]
    assert [d.id for d in documents.tagged(collection.id, ["v1", "v2"])] == [document.id]
    headings = chunks.find(Chunk.document_id == document.id, Chunk.meta.contains({"kind": "heading"}))
    assert [c.ordinal for c in headings] == [i for i in range(25) if i % 3 == 0]


def test_similarity_search(service_db: ServiceDatabase) -> None:
    collections, documents = CollectionRepository(service_db.sessions), DocumentRepository(service_db.sessions)
    chunks = ChunkRepository(service_db.sessions)
    collection = collections.create(owner_user_id=uuid.uuid4(), name="Vectors")
    documents.add_with_chunks(Document(collection_id=collection.id, title="V"), _chunks(40))
    query = [math.sin(7 + d) for d in range(8)]
    best = chunks.most_similar(collection.id, query, limit=3)
    assert best[0][1].ordinal == 7
    assert math.isclose(best[0][0], 1.0, rel_tol=1e-12)
    assert [score for score, _ in best] == sorted((score for score, _ in best), reverse=True)
    assert cosine([1.0, 0.0], [0.0, 1.0]) == 0.0 and cosine([], []) == 0.0


def test_cascades_and_set_null(service_db: ServiceDatabase) -> None:
    collections, documents = CollectionRepository(service_db.sessions), DocumentRepository(service_db.sessions)
    chunks = ChunkRepository(service_db.sessions)
    collection = collections.create(owner_user_id=uuid.uuid4(), name="C")
    old = documents.add_with_chunks(Document(collection_id=collection.id, title="old"), _chunks(3))
    new = documents.add_with_chunks(Document(collection_id=collection.id, title="new"), _chunks(2))
    documents.update(old.id, superseded_by_id=new.id)
    documents.delete(new.id)
    kept = documents.get(old.id)
    assert kept is not None and kept.superseded_by_id is None  # SET NULL
    assert chunks.count() == 3  # the deleted document's chunks cascaded
    collections.delete(collection.id)
    assert (documents.count(), chunks.count()) == (0, 0)


def test_constraint_violations(service_db: ServiceDatabase) -> None:
    tags, chunks = TagRepository(service_db.sessions), ChunkRepository(service_db.sessions)
    tags.create(name="design")
    with pytest.raises(sa.exc.IntegrityError):
        tags.create(name="design")
    assert tags.create(name="Design").name == "Design"  # explicit utf8mb4_bin / binary: case matters everywhere
    with pytest.raises(sa.exc.IntegrityError):
        chunks.create(document_id=uuid.uuid4(), ordinal=0, text="orphan")
    collections, documents = CollectionRepository(service_db.sessions), DocumentRepository(service_db.sessions)
    collection = collections.create(owner_user_id=uuid.uuid4(), name="C")
    document = documents.add_with_chunks(Document(collection_id=collection.id, title="dup"), [])
    chunks.create(document_id=document.id, ordinal=0, text="a")
    with pytest.raises(sa.exc.IntegrityError):
        chunks.create(document_id=document.id, ordinal=0, text="b")  # unique (document, ordinal)
    assert chunks.count() == 1


def test_bulk_chunks_batch_without_returning(service_db: ServiceDatabase, backend_name: str) -> None:
    """⌈N/1000⌉+2 INSERT statements at most for a document with N chunks (MariaDB counts them,
    with the dialect's RETURNING switched off as on TiDB/MySQL)."""
    if backend_name != "mariadb":
        pytest.skip("counted with MariaDB's Com_insert status counter")
    dialect = service_db.engine.dialect
    saved = (dialect.insert_returning, dialect.insert_executemany_returning)
    dialect.insert_returning = dialect.insert_executemany_returning = False
    try:
        collection = CollectionRepository(service_db.sessions).create(owner_user_id=uuid.uuid4(), name="Bulk")
        n = 2300
        with service_db.sessions.begin() as session:
            before = int(session.execute(sa.text("SHOW SESSION STATUS LIKE 'Com_insert'")).one()[1])
            document = Document(collection_id=collection.id, title="big")
            session.add(document)
            session.add_all([Chunk(document_id=document.id, ordinal=i, **c) for i, c in enumerate(_chunks(n, 4))])
            session.flush()
            after = int(session.execute(sa.text("SHOW SESSION STATUS LIKE 'Com_insert'")).one()[1])
        assert after - before <= -(-n // 1000) + 2, after - before
        assert ChunkRepository(service_db.sessions).count() == n
    finally:
        dialect.insert_returning, dialect.insert_executemany_returning = saved


def test_async_repositories(service_db: ServiceDatabase) -> None:
    collection = CollectionRepository(service_db.sessions).create(owner_user_id=uuid.uuid4(), name="A")

    async def run() -> tuple[int, int, list[int]]:
        database = ServiceDatabase(service_db.spec, service_db.settings)
        try:
            documents = AsyncDocumentRepository(database.async_sessions)
            chunks = AsyncChunkRepository(database.async_sessions)
            document = await documents.create(collection_id=collection.id, title="async", meta={"k": [1, 2]})
            await chunks.bulk_create([Chunk(document_id=document.id, ordinal=i, text=str(i), embedding=[float(i)])
                                      for i in range(15)])
            page = await chunks.list(Chunk.document_id == document.id, limit=10)
            rest = await chunks.list(Chunk.document_id == document.id, after=page.next_after, limit=10)
            found = await documents.find(Document.meta.contains({"k": [2]}))
            return len(page.items), len(rest.items), [len(found)]
        finally:
            await database.async_engine.dispose()

    assert asyncio.run(run()) == (10, 5, [1])
