"""A small model that exercises what migrations must get right on every backend."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tidb_compat import PortableArray, PortableJSON, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class Account(Base):
    __tablename__ = "mig_accounts"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    settings: Mapped[dict[str, Any] | None] = mapped_column(PortableJSON())
    roles: Mapped[list[str]] = mapped_column(PortableArray(sa.String(32)))
    active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), server_default=utcnow())


class Project(Base):
    __tablename__ = "mig_projects"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("mig_accounts.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("mig_accounts.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(20), server_default="draft")
    scores: Mapped[list[float] | None] = mapped_column(PortableArray(sa.Float))
    __table_args__ = (
        sa.UniqueConstraint("owner_id", "title"),
        sa.Index("ix_mig_projects_status_title", "status", "title"),
    )
