"""The project service as tidb_compat sees it: its database, migrations and smoke test."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from tidb_compat.service import ServiceDatabase, ServiceSpec, expect

from .models import Base
from .repository import CommentRepository, DesignRepository, MemberRepository, ProjectRepository

DATABASE = "design_synapse_project_db"
ENV_PREFIX = "PROJECT_SERVICE"
MIGRATIONS = Path(__file__).with_name("migrations")


def smoke(database: ServiceDatabase) -> dict[str, Any]:
    """Create a project with a member, a design with two versions and a comment; query them;
    update; delete the project (cascades remove the rest)."""
    projects, designs = database.repository(ProjectRepository), database.repository(DesignRepository)
    members, comments = database.repository(MemberRepository), database.repository(CommentRepository)
    owner = uuid.uuid4()
    project = projects.create(owner_user_id=owner, name="Smoke", tags=["smoke", "ci"], settings={"grid": 8})
    try:
        members.create(project_id=project.id, user_id=owner, role="owner")
        design = designs.create(project_id=project.id, name="Landing page")
        designs.add_version(design.id, {"layers": [{"type": "frame"}], "title": "v1"}, owner)
        designs.add_version(design.id, {"layers": [{"type": "frame"}, {"type": "text"}], "title": "v2"}, owner)
        comments.create(design_id=design.id, author_user_id=owner, body="Looks good")
        expect([v.version for v in designs.versions(design.id)] == [1, 2], "versions are numbered 1, 2")
        expect(designs.documents_with(design.id, {"title": "v2"}) == [2], "JSON document query")
        expect(project.id in {p.id for p in projects.tagged_any(["smoke"])}, "tag query")
        projects.update(project.id, name="Smoke 2")
        renamed = projects.get(project.id)
        expect(renamed is not None and renamed.name == "Smoke 2", "update")
    finally:
        projects.delete(project.id)
    expect(designs.count(designs.model.project_id == project.id) == 0, "designs cascade with the project")
    return {"project": str(project.id)}


SPEC = ServiceSpec(name="project", env_prefix=ENV_PREFIX, database=DATABASE, base=Base, migrations=MIGRATIONS,
                   smoke=smoke)
