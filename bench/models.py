"""Tables of the benchmarks other than the services' own: the plain-stack model with an
autoincrement key, the type pairs, and the table streamed in the memory benchmark."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tidb_compat import PortableArray, PortableJSON, UTCDateTime

PLAIN_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
"""What a plain application declares for JSON (JSONB on PostgreSQL, as PostgreSQL apps do)."""
PLAIN_DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")
"""A naive DateTime with microseconds on MySQL-family servers, like UTCDateTime's storage."""


class PlainBase(DeclarativeBase):
    pass


class NaiveChunk(PlainBase):
    """The knowledge service's Chunk as a plain-stack model: autoincrement key, sa.JSON."""

    __tablename__ = "bench_naive_chunks"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[str] = mapped_column(sa.String(36))
    ordinal: Mapped[int]
    text: Mapped[str] = mapped_column(sa.Text)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", PLAIN_JSON)
    embedding: Mapped[list[float] | None] = mapped_column(PLAIN_JSON)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime, server_default=sa.func.now())


TYPES_METADATA = sa.MetaData()


def _pair(name: str, portable: Any, plain: Any) -> tuple[sa.Table, sa.Table]:
    return tuple(  # type: ignore[return-value]
        sa.Table(f"bench_t_{name}_{kind}", TYPES_METADATA,
                 sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False), sa.Column("v", type_))
        for kind, type_ in (("portable", portable), ("plain", plain))
    )


TYPE_PAIRS: dict[str, tuple[sa.Table, sa.Table]] = {
    "json": _pair("json", PortableJSON(), PLAIN_JSON),
    "datetime": _pair("datetime", UTCDateTime(), PLAIN_DATETIME),
    "array": _pair("array", PortableArray(sa.String(40)), PLAIN_JSON),
}


class StreamBase(DeclarativeBase):
    pass


class StreamRow(StreamBase):
    """The table read back in the memory benchmark (portable types, as in the services)."""

    __tablename__ = "bench_stream"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(100))
    doc: Mapped[dict[str, Any]] = mapped_column(PortableJSON())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
