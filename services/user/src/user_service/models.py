"""User service models.

Keys are random UUIDs set when an object is built (no insert hot spot on TiDB, inserts batch
without RETURNING).  E-mail addresses are stored normalised (NFKC, trimmed, case-folded) under
a unique constraint, so uniqueness does not depend on the collation (TiDB's default
``utf8mb4_bin`` is case-sensitive, MySQL's and MariaDB's are not).  Other services refer to
users by id only: there are no foreign keys across service databases.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from tidb_compat import PortableArray, PortableJSON, utcnow
from tidb_compat.orm import NAMING_CONVENTION, client_generated_keys, portable_type_map


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = portable_type_map()


client_generated_keys(Base)


def normalise_email(email: str) -> str:
    """The stored form of an e-mail address: NFKC, trimmed, case-folded."""
    text = unicodedata.normalize("NFKC", email).strip().casefold()
    local, at, domain = text.partition("@")
    if not at or not local or not domain or "@" in domain or any(ch.isspace() for ch in text):
        raise ValueError(f"not an e-mail address: {email!r}")
    return text


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(PortableJSON()), default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", passive_deletes=True
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    preferences: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(PortableJSON()), default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())
    updated_at: Mapped[dt.datetime | None] = mapped_column(onupdate=utcnow())

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True,
        foreign_keys="Membership.user_id",
    )
    api_keys: Mapped[list[ApiKey]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @validates("email")
    def _normalise_email(self, key: str, value: str) -> str:
        return normalise_email(value)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    roles: Mapped[list[str]] = mapped_column(PortableArray(sa.String(32)), default=list)
    invited_by_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    organisation: Mapped[Organisation] = relationship(back_populates="memberships")
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(12))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(PortableArray(sa.String(64)), default=list)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())
    last_used_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(back_populates="api_keys")


class UserSession(Base):
    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_agent: Mapped[str | None] = mapped_column(sa.String(400))
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())
    expires_at: Mapped[dt.datetime]

    user: Mapped[User] = relationship(back_populates="sessions")
