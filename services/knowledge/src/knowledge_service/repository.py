"""Knowledge service repositories: CRUD from tidb_compat.repository plus documents added with
their chunks in one transaction, metadata and tag queries, and similarity search."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tidb_compat.repository import BULK_CHUNK, AsyncRepository, Repository

from .models import Chunk, Collection, Document, Tag


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity; 0.0 when either vector is zero or the lengths differ."""
    if len(a) != len(b) or not a:
        return 0.0
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class CollectionRepository(Repository[Collection]):
    model = Collection
    order_by = ("created_at",)


class DocumentRepository(Repository[Document]):
    model = Document
    order_by = ("created_at",)

    def add_with_chunks(self, document: Document, chunks: Sequence[dict[str, Any]]) -> Document:
        """Insert a document and its chunks (``text``, ``meta``, ``embedding``) atomically; chunk
        rows are inserted in batches of :data:`BULK_CHUNK` per statement."""

        def work(session: Session) -> Document:
            session.add(document)
            rows = [Chunk(document_id=document.id, ordinal=i, **chunk) for i, chunk in enumerate(chunks)]
            for start in range(0, len(rows), BULK_CHUNK):
                session.add_all(rows[start : start + BULK_CHUNK])
                session.flush()
            return document

        return self.transaction(work)

    def with_meta(self, collection_id: uuid.UUID, **pairs: Any) -> list[Document]:
        return self.find(Document.collection_id == collection_id, Document.meta.contains(pairs))

    def tagged(self, collection_id: uuid.UUID, tags: list[str]) -> list[Document]:
        return self.find(Document.collection_id == collection_id, Document.tags.overlap(tags))

    def by_meta_text(self, collection_id: uuid.UUID, path: tuple[str, ...], value: str) -> list[Document]:
        return self.find(Document.collection_id == collection_id, Document.meta.path_text(*path) == value)


class ChunkRepository(Repository[Chunk]):
    model = Chunk
    order_by = ("document_id", "ordinal")

    def for_document(self, document_id: uuid.UUID) -> list[Chunk]:
        return self.find(Chunk.document_id == document_id)

    def most_similar(self, collection_id: uuid.UUID, embedding: Sequence[float], limit: int = 5) -> list[
            tuple[float, Chunk]]:
        """The chunks of a collection closest to ``embedding`` (cosine), computed here so it
        is the same on every backend; TiDB's ``VECTOR`` type can take this over later."""
        with self.read_sessions() as session:
            statement = (
                sa.select(Chunk).join(Document).where(Document.collection_id == collection_id,
                                                      Chunk.embedding.is_not(None))
            )
            scored = [(cosine(chunk.embedding or [], embedding), chunk) for chunk in session.scalars(statement)]
        scored.sort(key=lambda pair: (-pair[0], pair[1].ordinal))
        return scored[:limit]


class TagRepository(Repository[Tag]):
    model = Tag
    order_by = ("name",)


class AsyncDocumentRepository(AsyncRepository[Document]):
    model = Document
    order_by = ("created_at",)


class AsyncChunkRepository(AsyncRepository[Chunk]):
    model = Chunk
    order_by = ("document_id", "ordinal")
