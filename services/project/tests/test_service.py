"""The project service on the session's backend: migrations, CLI, CRUD, versions, cascades."""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from project_service.models import Comment, Design, DesignVersion, Project, ProjectMember
from project_service.repository import (
    AsyncProjectRepository,
    CommentRepository,
    DesignRepository,
    MemberRepository,
    ProjectRepository,
)

from tidb_compat.service import ServiceDatabase
from tidb_compat.testing import ServiceContract


class TestProjectServiceContract(ServiceContract):
    alembic_ini = Path(__file__).resolve().parents[1] / "alembic.ini"
    cli_module = "project_service.cli"


def test_projects_by_owner_tag_and_setting(service_db: ServiceDatabase) -> None:
    projects = ProjectRepository(service_db.sessions)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    for i in range(7):
        projects.create(owner_user_id=alice, name=f"A{i}", tags=["web"] if i % 2 else ["print", "web"],
                        settings={"grid": i})
    projects.create(owner_user_id=bob, name="B", tags=["Web"], settings={"grid": 3})
    projects.create(owner_user_id=alice, name="archived", archived=True)
    names, after = [], None
    while True:
        page = projects.for_owner(alice, after=after, limit=3)
        names += [p.name for p in page.items]
        if page.next_after is None:
            break
        after = page.next_after
    assert sorted(names) == [f"A{i}" for i in range(7)]
    assert len(projects.tagged_all(["print", "web"])) == 4
    assert len(projects.tagged_any(["print", "Web"])) == 5  # case-sensitive: "Web" is bob's only
    assert {p.name for p in projects.with_setting("grid", 3)} == {"A3", "B"}


def test_design_versions_are_numbered_atomically(service_db: ServiceDatabase, backend_name: str) -> None:
    projects, designs = ProjectRepository(service_db.sessions), DesignRepository(service_db.sessions)
    project = projects.create(owner_user_id=uuid.uuid4(), name="P")
    design = designs.create(project_id=project.id, name="D")
    user = uuid.uuid4()
    threads = 1 if backend_name == "sqlite" else 4
    per_thread = 5
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(per_thread):
                designs.add_version(design.id, {"by": n, "i": i, "layers": [n, i]}, user)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    assert not errors, errors
    versions = designs.versions(design.id)
    assert [v.version for v in versions] == list(range(1, threads * per_thread + 1))
    assert designs.get(design.id).current_version == threads * per_thread  # type: ignore[union-attr]
    expected = [v.version for v in versions if v.document == {"by": 0, "i": 4, "layers": [0, 4]}]
    assert designs.documents_with(design.id, {"by": 0, "i": 4}) == expected


def test_cascades_and_set_null(service_db: ServiceDatabase) -> None:
    sessions = service_db.sessions
    projects, designs, comments = ProjectRepository(sessions), DesignRepository(sessions), CommentRepository(sessions)
    members = MemberRepository(sessions)
    project = projects.create(owner_user_id=uuid.uuid4(), name="P")
    members.create(project_id=project.id, user_id=uuid.uuid4(), role="editor")
    design = designs.create(project_id=project.id, name="D")
    designs.add_version(design.id, {"a": 1}, uuid.uuid4())
    parent = comments.create(design_id=design.id, author_user_id=uuid.uuid4(), body="first")
    reply = comments.create(design_id=design.id, author_user_id=uuid.uuid4(), body="reply", parent_id=parent.id)
    comments.delete(parent.id)
    kept = comments.get(reply.id)
    assert kept is not None and kept.parent_id is None  # ON DELETE SET NULL
    projects.delete(project.id)  # ON DELETE CASCADE all the way down
    with service_db.engine.connect() as connection:
        for model in (ProjectMember, Design, DesignVersion, Comment):
            assert connection.execute(sa.select(sa.func.count()).select_from(model)).scalar_one() == 0


def test_constraint_violations(service_db: ServiceDatabase) -> None:
    sessions = service_db.sessions
    projects, members, designs = ProjectRepository(sessions), MemberRepository(sessions), DesignRepository(sessions)
    project = projects.create(owner_user_id=uuid.uuid4(), name="P")
    user = uuid.uuid4()
    members.create(project_id=project.id, user_id=user)
    with pytest.raises(sa.exc.IntegrityError):
        members.create(project_id=project.id, user_id=user)  # unique (project, user)
    with pytest.raises(sa.exc.IntegrityError):
        designs.create(project_id=uuid.uuid4(), name="orphan")  # no such project
    with pytest.raises(sa.exc.IntegrityError):
        projects.create(owner_user_id=uuid.uuid4(), name=None)  # NOT NULL
    assert (projects.count(), members.count(), designs.count()) == (1, 1, 0)


def test_async_repository(service_db: ServiceDatabase) -> None:
    async def run() -> tuple[int, int, bool]:
        database = ServiceDatabase(service_db.spec, service_db.settings)
        try:
            projects = AsyncProjectRepository(database.async_sessions)
            owner = uuid.uuid4()
            await projects.bulk_create([Project(owner_user_id=owner, name=f"p{i}", tags=[f"t{i % 3}"])
                                        for i in range(12)])
            tagged = await projects.tagged_any(["t0", "t1"])
            first = (await projects.list(limit=5)).items[0]
            await projects.update(first.id, archived=True)
            archived = (await projects.get(first.id)).archived  # type: ignore[union-attr]
            return len(tagged), await projects.count(), archived
        finally:
            await database.async_engine.dispose()

    assert asyncio.run(run()) == (8, 12, True)
