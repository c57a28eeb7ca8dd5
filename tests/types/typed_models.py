"""Checked by ``mypy --strict`` in the lint session: the portable types give typed models."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tidb_compat import PortableArray, PortableJSON, UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class Document(Base):
    __tablename__ = "typed_documents"

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    body: Mapped[dict[str, Any]] = mapped_column(PortableJSON())
    tags: Mapped[list[str]] = mapped_column(PortableArray(sa.String(40)))
    embedding: Mapped[list[float] | None] = mapped_column(PortableArray(sa.Float))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=utcnow())


def newest_tagged(tag: str) -> sa.Select[uuid.UUID, dt.datetime]:
    return (
        sa.select(Document.id, Document.created_at)
        .where(Document.tags.contains([tag]), Document.body.contains({"published": True}))
        .order_by(Document.created_at.desc())
    )


def first_tag(doc: Document) -> str:
    return doc.tags[0]
