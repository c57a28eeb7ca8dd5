"""The knowledge service as tidb_compat sees it: its database, migrations and smoke test."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tidb_compat.service import ServiceDatabase, ServiceSpec, expect

from .models import Base, Document
from .repository import ChunkRepository, CollectionRepository, DocumentRepository

DATABASE = "design_synapse_knowledge_db"
ENV_PREFIX = "KNOWLEDGE_SERVICE"
MIGRATIONS = Path(__file__).with_name("migrations")


def smoke(database: ServiceDatabase) -> dict[str, Any]:
    """Create a collection and a document with chunks; query by metadata, tag and similarity;
    update; delete the collection (cascades remove the rest)."""
    collections, documents, chunks = (database.repository(CollectionRepository),
                                      database.repository(DocumentRepository), database.repository(ChunkRepository))
    collection = collections.create(owner_user_id=uuid.uuid4(), name="Smoke", tags=["smoke"])
    try:
        document = documents.add_with_chunks(
            Document(collection_id=collection.id, title="Guide", meta={"lang": "en", "pages": 2}, tags=["guide"]),
            [{"text": "Hello", "meta": {"page": 1}, "embedding": [1.0, 0.0]},
             {"text": "World", "meta": {"page": 2}, "embedding": [0.0, 1.0]}],
        )
        expect([d.id for d in documents.with_meta(collection.id, lang="en")] == [document.id], "metadata query")
        expect([d.id for d in documents.tagged(collection.id, ["guide", "x"])] == [document.id], "tag query")
        best = chunks.most_similar(collection.id, [0.9, 0.1], limit=1)
        expect(bool(best) and best[0][1].text == "Hello", "similarity search")
        documents.update(document.id, title="Guide 2")
        renamed = documents.get(document.id)
        expect(renamed is not None and renamed.title == "Guide 2", "update")
    finally:
        collections.delete(collection.id)
    expect(chunks.count(chunks.model.document_id == document.id) == 0, "chunks cascade with the collection")
    return {"collection": str(collection.id)}


SPEC = ServiceSpec(name="knowledge", env_prefix=ENV_PREFIX, database=DATABASE, base=Base, migrations=MIGRATIONS,
                   smoke=smoke)
