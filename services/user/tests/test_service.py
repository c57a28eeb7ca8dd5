"""The user service on the session's backend: migrations, CLI, CRUD, queries, cascades."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from user_service.models import ApiKey, Membership, Organisation, User, UserSession, normalise_email
from user_service.repository import (
    ApiKeyRepository,
    AsyncUserRepository,
    MembershipRepository,
    OrganisationRepository,
    SessionRepository,
    UserRepository,
)

from tidb_compat import get_backend
from tidb_compat.service import ServiceDatabase
from tidb_compat.testing import ServiceContract

UTC = dt.UTC


class TestUserServiceContract(ServiceContract):
    alembic_ini = Path(__file__).resolve().parents[1] / "alembic.ini"
    cli_module = "user_service.cli"


def test_email_is_stored_normalised_and_unique_regardless_of_collation(service_db: ServiceDatabase) -> None:
    users = UserRepository(service_db.sessions)
    user = users.create(email="  Ada.Lovelace@Example.COM ", display_name="Ada")
    assert user.email == "ada.lovelace@example.com"
    assert users.get_by_email("ADA.LOVELACE@example.com") is not None
    with pytest.raises(sa.exc.IntegrityError):
        users.create(email="ada.lovelace@EXAMPLE.com", display_name="Copy")
    assert users.count() == 1
    with pytest.raises(ValueError, match="not an e-mail address"):
        normalise_email("no-at-sign")


def test_crud_and_keyset_pagination(service_db: ServiceDatabase) -> None:
    orgs = OrganisationRepository(service_db.sessions)
    created = [orgs.create(slug=f"org-{i:03d}", name=f"Org {i}") for i in range(23)]
    seen: list[uuid.UUID] = []
    after = None
    while True:
        page = orgs.list(limit=10, after=after)
        seen.extend(o.id for o in page.items)
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == sorted(o.id for o in created)  # ordered by key, complete, no repeats
    by_slug = orgs.list(limit=5, order_by=("slug",))
    assert [o.slug for o in by_slug.items] == [f"org-{i:03d}" for i in range(5)]
    first = created[0]
    updated = orgs.update(first.id, name="Renamed", settings={"plan": "pro"})
    assert updated is not None
    fresh = orgs.get(first.id)
    assert fresh is not None and fresh.name == "Renamed" and fresh.settings == {"plan": "pro"}
    assert orgs.delete(first.id) is True
    assert orgs.delete(first.id) is False
    assert orgs.get(first.id) is None
    assert orgs.update(uuid.uuid4(), name="x") is None


def test_json_and_array_queries(service_db: ServiceDatabase) -> None:
    users, orgs, members = (UserRepository(service_db.sessions), OrganisationRepository(service_db.sessions),
                            MembershipRepository(service_db.sessions))
    org = orgs.create(slug="acme", name="Acme")
    alice = users.create(email="alice@example.com", display_name="Alice", preferences={"theme": "dark", "n": 1})
    bob = users.create(email="bob@example.com", display_name="Bob", preferences={"theme": "Dark"})
    members.create(user_id=alice.id, organisation_id=org.id, roles=["owner", "editor"])
    members.create(user_id=bob.id, organisation_id=org.id, roles=["viewer"], invited_by_id=alice.id)
    assert [u.id for u in users.with_preference("theme", "dark")] == [alice.id]  # case-sensitive everywhere
    assert [m.user_id for m in members.with_role(org.id, "editor")] == [alice.id]
    assert {m.user_id for m in members.with_any_role(org.id, ["viewer", "owner"])} == {alice.id, bob.id}
    assert members.with_role(org.id, "Editor") == []


def test_cascades_and_set_null(service_db: ServiceDatabase) -> None:
    users, orgs, members = (UserRepository(service_db.sessions), OrganisationRepository(service_db.sessions),
                            MembershipRepository(service_db.sessions))
    keys, sessions = ApiKeyRepository(service_db.sessions), SessionRepository(service_db.sessions)
    org = orgs.create(slug="cascade", name="Cascade")
    inviter = users.create(email="inviter@example.com", display_name="Inviter")
    invitee = users.create(email="invitee@example.com", display_name="Invitee")
    membership = members.create(user_id=invitee.id, organisation_id=org.id, roles=["viewer"], invited_by_id=inviter.id)
    keys.issue(invitee.id, "ci", ["read"])
    sessions.create(user_id=invitee.id, token_hash="0" * 64, expires_at=dt.datetime.now(UTC) + dt.timedelta(hours=1))
    users.delete(inviter.id)  # ON DELETE SET NULL
    after = members.get(membership.id)
    assert after is not None and after.invited_by_id is None
    users.delete(invitee.id)  # ON DELETE CASCADE: memberships, API keys, sessions
    assert (members.count(), keys.count(), sessions.count()) == (0, 0, 0)
    members.create(user_id=users.create(email="x@example.com", display_name="X").id, organisation_id=org.id)
    orgs.delete(org.id)
    assert members.count() == 0


def test_constraint_violations(service_db: ServiceDatabase) -> None:
    orgs, members = OrganisationRepository(service_db.sessions), MembershipRepository(service_db.sessions)
    orgs.create(slug="dup", name="A")
    with pytest.raises(sa.exc.IntegrityError):
        orgs.create(slug="dup", name="B")
    with pytest.raises(sa.exc.IntegrityError):
        members.create(user_id=uuid.uuid4(), organisation_id=uuid.uuid4())  # no such user/org
    assert (orgs.count(), members.count()) == (1, 0)


def test_api_keys_authenticate_and_expire(service_db: ServiceDatabase) -> None:
    users, keys = UserRepository(service_db.sessions), ApiKeyRepository(service_db.sessions)
    user = users.create(email="k@example.com", display_name="K")
    key, secret = keys.issue(user.id, "live", ["read", "write"])
    _, expired_secret = keys.issue(user.id, "old", ["read"], expires_at=dt.datetime.now(UTC) - dt.timedelta(days=1))
    assert key.key_hash != secret and secret not in key.key_hash
    used = keys.authenticate(secret)
    assert used is not None and used.last_used_at is not None and used.last_used_at.tzinfo is UTC
    assert keys.authenticate(expired_secret) is None
    assert keys.authenticate("dsk_wrong") is None


def test_async_repository(service_db: ServiceDatabase, database_url: str) -> None:
    async def run() -> tuple[Any, ...]:
        database = ServiceDatabase(service_db.spec, service_db.settings)
        try:
            users = AsyncUserRepository(database.async_sessions)
            created = await users.create(email="Async@Example.com", display_name="Async", preferences={"a": 1})
            await users.bulk_create([User(email=f"bulk{i}@example.com", display_name="B") for i in range(30)])
            found = await users.get_by_email("async@example.com")
            page = await users.list(limit=20)
            await users.update(created.id, display_name="Async 2")
            renamed = await users.get(created.id)
            deleted = await users.delete(created.id)
            return (found is not None, len(page.items), page.next_after is not None,
                    renamed.display_name if renamed else None, deleted, await users.count(),
                    [u.id for u in await users.with_preference("a", 1)])
        finally:
            await database.async_engine.dispose()

    found, page_size, more, name, deleted, count, with_pref = asyncio.run(run())
    assert (found, page_size, more, name, deleted, count, with_pref) == (True, 20, True, "Async 2", True, 30, [])


def test_bulk_insert_batches_without_returning(service_db: ServiceDatabase, backend_name: str) -> None:
    """⌈N/1000⌉+2 INSERT statements at most for N users, counted by the server (MariaDB with
    the dialect's RETURNING switched off, as on TiDB and MySQL)."""
    if backend_name != "mariadb":
        pytest.skip("counted with MariaDB's Com_insert status counter")
    engine = service_db.engine.execution_options()
    dialect = service_db.engine.dialect
    saved = (dialect.insert_returning, dialect.insert_executemany_returning,
             dialect.insert_executemany_returning_sort_by_parameter_order)
    dialect.insert_returning = dialect.insert_executemany_returning = False
    dialect.insert_executemany_returning_sort_by_parameter_order = False
    try:
        n = 2500
        users = UserRepository(service_db.sessions)
        with engine.connect() as probe:
            assert get_backend(probe).vendor == "mariadb"
        sessions = service_db.sessions

        def work(session: Any) -> int:
            before = session.execute(sa.text("SHOW SESSION STATUS LIKE 'Com_insert'")).one()[1]
            session.add_all([User(email=f"u{i}@example.com", display_name=f"U{i}") for i in range(n)])
            session.flush()
            after = session.execute(sa.text("SHOW SESSION STATUS LIKE 'Com_insert'")).one()[1]
            return int(after) - int(before)

        with sessions.begin() as session:
            statements = work(session)
        assert statements <= -(-n // 1000) + 2, statements
        assert users.count() == n
        # The repository's bulk_create (ORM bulk INSERT of column values) batches the same way.
        with engine.connect() as probe:
            before = int(probe.execute(sa.text("SHOW GLOBAL STATUS LIKE 'Com_insert'")).one()[1])
        assert users.bulk_create([User(email=f"b{i}@example.com", display_name="B") for i in range(n)]) == n
        with engine.connect() as probe:
            after = int(probe.execute(sa.text("SHOW GLOBAL STATUS LIKE 'Com_insert'")).one()[1])
        assert after - before <= -(-n // 1000) + 2, after - before
        assert users.count() == 2 * n
    finally:
        (dialect.insert_returning, dialect.insert_executemany_returning,
         dialect.insert_executemany_returning_sort_by_parameter_order) = saved


def test_models_cover_the_domain() -> None:
    tables = {m.__tablename__ for m in (Organisation, User, Membership, ApiKey, UserSession)}
    assert tables == {"organisations", "users", "memberships", "api_keys", "sessions"}
