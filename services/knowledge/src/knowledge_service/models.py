"""Knowledge service models.

Owners and projects live in other services' databases: ``owner_user_id`` and ``project_id``
are ids, not foreign keys.  Deleting a collection deletes its documents and their chunks;
a document that superseded another is left pointing nowhere (SET NULL) when it is deleted.
Embeddings are float arrays (``PortableArray(Float)``): a JSON array on TiDB/MySQL/MariaDB/
SQLite, ``float8[]`` on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tidb_compat import PortableArray, PortableJSON, utcnow
from tidb_compat.orm import NAMING_CONVENTION, client_generated_keys, portable_type_map


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = portable_type_map()


client_generated_keys(Base)


class Collection(Base):
    __tablename__ = "collections"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner_user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    project_id: Mapped[uuid.UUID | None]
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    tags: Mapped[list[str]] = mapped_column(PortableArray(sa.String(40)), default=list)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())

    documents: Mapped[list[Document]] = relationship(
        back_populates="collection", cascade="all, delete-orphan", passive_deletes=True
    )


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    collection_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("collections.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    source_uri: Mapped[str | None] = mapped_column(sa.String(1000))
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", PortableJSON(), default=dict)
    tags: Mapped[list[str]] = mapped_column(PortableArray(sa.String(40)), default=list)
    superseded_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("documents.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())

    collection: Mapped[Collection] = relationship(back_populates="documents")
    chunks: Mapped[list[Chunk]] = relationship(
        back_populates="document", cascade="all, delete-orphan", passive_deletes=True, order_by="Chunk.ordinal"
    )


class Chunk(Base):
    __tablename__ = "chunks"
    __table_args__ = (sa.UniqueConstraint("document_id", "ordinal"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("documents.id", ondelete="CASCADE"))
    ordinal: Mapped[int]
    text: Mapped[str] = mapped_column(sa.Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", PortableJSON(), default=dict)
    embedding: Mapped[list[float] | None] = mapped_column(PortableArray(sa.Float))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())

    document: Mapped[Document] = relationship(back_populates="chunks")


class Tag(Base):
    """The tag vocabulary (documents and collections carry tag names in arrays)."""

    __tablename__ = "tags"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    description: Mapped[str | None] = mapped_column(sa.String(400))
