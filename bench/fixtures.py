"""Per-backend setup shared by the sections: the tables (created once on loopback, dropped at
the end), a knowledge-service document with 1000 chunks to read, and the input rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from knowledge_service.models import Base as KnowledgeBase
from knowledge_service.models import Chunk, Collection, Document
from knowledge_service.service import SPEC

from tidb_compat.repository import Repository
from tidb_compat.service import ServiceDatabase

from .common import Target
from .models import TYPES_METADATA, PlainBase, StreamBase

ALL_METADATA = (KnowledgeBase.metadata, PlainBase.metadata, TYPES_METADATA, StreamBase.metadata)
LOREM = ("Portable schemas keep the same values in and out on every backend; this chunk of text stands "
         "in for a paragraph of a design document. ")
READ_CHUNKS = 1000


def chunk_values(i: int) -> dict[str, Any]:
    """One chunk's content (text of ~150 characters, a small metadata object, 8 floats)."""
    return {
        "text": f"chunk {i}: {LOREM}",
        "meta": {"page": i // 40, "lang": "en", "section": f"s{i % 7}"},
        "embedding": [round(((i * 31 + k * 17) % 997 + 1) / 998.0, 6) for k in range(8)],
    }


def chunk_rows(count: int) -> list[dict[str, Any]]:
    return [chunk_values(i) for i in range(count)]


def service_database(found: Target, **fields: Any) -> ServiceDatabase:
    """The knowledge service's database at ``found`` (its own engines, as the service builds them)."""
    return ServiceDatabase(SPEC, settings=found.settings(**fields))


@dataclass
class Fixture:
    """What one backend's sections share."""

    collection_id: uuid.UUID
    bulk_document_id: uuid.UUID
    """The document bulk inserts go to (its chunks are deleted between runs)."""
    read_document_id: uuid.UUID
    chunk_ids: list[uuid.UUID] = field(default_factory=list)
    """Chunks of the read document, for point reads and updates."""
    next_ordinal: int = READ_CHUNKS
    """The next free ordinal in the read document (single-row inserts add chunks there)."""

    def take_ordinal(self) -> int:
        self.next_ordinal += 1
        return self.next_ordinal


def create_tables(found: Target) -> Fixture:
    """Drop and create every benchmark table, then add the rows the read benchmarks use."""
    database = service_database(found)
    try:
        engine = database.engine
        for metadata in ALL_METADATA:
            metadata.drop_all(engine)
            metadata.create_all(engine)
        collection = Repository(database.sessions, Collection).create(owner_user_id=uuid.uuid4(), name="bench")
        documents = Repository(database.sessions, Document)
        bulk = documents.create(collection_id=collection.id, title="bulk inserts")
        read = documents.create(collection_id=collection.id, title="point reads")
        chunks = [Chunk(document_id=read.id, ordinal=i, **chunk_values(i)) for i in range(READ_CHUNKS)]
        Repository(database.sessions, Chunk).bulk_create(chunks)
        return Fixture(collection.id, bulk.id, read.id, [chunk.id for chunk in chunks])
    finally:
        database.dispose()


def drop_tables(found: Target) -> None:
    database = service_database(found)
    try:
        for metadata in reversed(ALL_METADATA):
            metadata.drop_all(database.engine)
    finally:
        database.dispose()


def delete_bulk_rows(engine: sa.Engine, fixture: Fixture) -> None:
    """Forget what the bulk insert benchmarks wrote (untimed, between runs)."""
    from .models import NaiveChunk

    with engine.begin() as connection:
        connection.execute(sa.delete(Chunk).where(Chunk.document_id == fixture.bulk_document_id))
        connection.execute(sa.delete(NaiveChunk))
