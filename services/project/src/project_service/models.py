"""Project service models.

Users live in the user service's database: ``owner_user_id``, ``user_id``,
``created_by_user_id`` and ``author_user_id`` are ids, not foreign keys (there are no foreign
keys across service databases; the user service is the authority on whether a user exists).
Inside this database, foreign keys cascade as the domain wants: deleting a project deletes
its members, designs, versions and comments; deleting a comment leaves its replies with no
parent (SET NULL).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.mutable import MutableDict
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tidb_compat import PortableArray, PortableJSON, utcnow
from tidb_compat.orm import NAMING_CONVENTION, client_generated_keys, portable_type_map


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = portable_type_map()


client_generated_keys(Base)


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    owner_user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    tags: Mapped[list[str]] = mapped_column(PortableArray(sa.String(40)), default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(MutableDict.as_mutable(PortableJSON()), default=dict)
    archived: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())
    updated_at: Mapped[dt.datetime | None] = mapped_column(onupdate=utcnow())

    members: Mapped[list[ProjectMember]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )
    designs: Mapped[list[Design]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True
    )


class ProjectMember(Base):
    __tablename__ = "project_members"
    __table_args__ = (sa.UniqueConstraint("project_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    role: Mapped[str] = mapped_column(sa.String(20), default="viewer")
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())

    project: Mapped[Project] = relationship(back_populates="members")


class Design(Base):
    __tablename__ = "designs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    project_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    current_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())
    updated_at: Mapped[dt.datetime | None] = mapped_column(onupdate=utcnow())

    project: Mapped[Project] = relationship(back_populates="designs")
    versions: Mapped[list[DesignVersion]] = relationship(
        back_populates="design", cascade="all, delete-orphan", passive_deletes=True,
        order_by="DesignVersion.version",
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="design", cascade="all, delete-orphan", passive_deletes=True
    )


class DesignVersion(Base):
    __tablename__ = "design_versions"
    __table_args__ = (sa.UniqueConstraint("design_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    design_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("designs.id", ondelete="CASCADE"))
    version: Mapped[int]
    document: Mapped[dict[str, Any]] = mapped_column(PortableJSON())
    created_by_user_id: Mapped[uuid.UUID]
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())

    design: Mapped[Design] = relationship(back_populates="versions")


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    design_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("designs.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(sa.ForeignKey("comments.id", ondelete="SET NULL"))
    author_user_id: Mapped[uuid.UUID]
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(server_default=utcnow())

    design: Mapped[Design] = relationship(back_populates="comments")
