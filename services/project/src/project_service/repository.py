"""Project service repositories: CRUD from tidb_compat.repository plus projects by owner or
tag, and design versions added atomically (the version counter and the new version row move
together, retried on write conflicts)."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tidb_compat.repository import AsyncRepository, Page, Repository

from .models import Comment, Design, DesignVersion, Project, ProjectMember


class ProjectRepository(Repository[Project]):
    model = Project
    order_by = ("created_at",)

    def for_owner(self, owner_user_id: uuid.UUID, *, after: tuple[Any, ...] | None = None,
                  limit: int = 50) -> Page[Project]:
        return self.list(Project.owner_user_id == owner_user_id, Project.archived.is_(False), after=after, limit=limit)

    def tagged_all(self, tags: list[str]) -> list[Project]:
        return self.find(Project.tags.contains(tags))

    def tagged_any(self, tags: list[str]) -> list[Project]:
        return self.find(Project.tags.overlap(tags))

    def with_setting(self, key: str, value: Any) -> list[Project]:
        return self.find(Project.settings.contains({key: value}))


class MemberRepository(Repository[ProjectMember]):
    model = ProjectMember


class DesignRepository(Repository[Design]):
    model = Design

    def add_version(self, design_id: uuid.UUID, document: dict[str, Any], user_id: uuid.UUID) -> DesignVersion:
        """Append a version: lock the design row, bump its counter, insert the version."""

        def work(session: Session) -> DesignVersion:
            design = session.execute(
                sa.select(Design).where(Design.id == design_id).with_for_update()
            ).scalar_one()
            design.current_version += 1
            version = DesignVersion(design_id=design.id, version=design.current_version, document=document,
                                    created_by_user_id=user_id)
            session.add(version)
            return version

        return self.transaction(work)

    def versions(self, design_id: uuid.UUID) -> list[DesignVersion]:
        with self.read_sessions() as session:
            statement = sa.select(DesignVersion).where(DesignVersion.design_id == design_id)
            return list(session.scalars(statement.order_by(DesignVersion.version)))

    def documents_with(self, design_id: uuid.UUID, fragment: dict[str, Any]) -> list[int]:
        """Version numbers whose document contains ``fragment`` (PostgreSQL ``@>`` semantics)."""
        with self.read_sessions() as session:
            statement = sa.select(DesignVersion.version).where(
                DesignVersion.design_id == design_id, DesignVersion.document.contains(fragment)
            )
            return sorted(session.scalars(statement))


class CommentRepository(Repository[Comment]):
    model = Comment
    order_by = ("created_at",)


class AsyncProjectRepository(AsyncRepository[Project]):
    model = Project
    order_by = ("created_at",)

    async def tagged_any(self, tags: list[str]) -> list[Project]:
        return await self.find(Project.tags.overlap(tags))
