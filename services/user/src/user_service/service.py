"""The user service as tidb_compat sees it: its database, migrations and smoke test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tidb_compat.service import ServiceDatabase, ServiceSpec, expect

from .models import Base
from .repository import ApiKeyRepository, MembershipRepository, OrganisationRepository, UserRepository

DATABASE = "design_synapse_user_db"
ENV_PREFIX = "USER_SERVICE"
MIGRATIONS = Path(__file__).with_name("migrations")


def smoke(database: ServiceDatabase) -> dict[str, Any]:
    """Create an organisation, a user, a membership and an API key; read them back through
    the domain queries; update; delete (cascades remove the rest)."""
    users, orgs = database.repository(UserRepository), database.repository(OrganisationRepository)
    members, keys = database.repository(MembershipRepository), database.repository(ApiKeyRepository)
    org = orgs.create(slug=f"smoke-{_token()}", name="Smoke Test Org")
    user = users.create(email=f"Smoke.{_token()}@Example.COM", display_name="Smoke", preferences={"theme": "dark"})
    try:
        members.create(user_id=user.id, organisation_id=org.id, roles=["owner", "editor"])
        _, secret = keys.issue(user.id, "smoke", ["read"])
        expect(users.get_by_email(user.email.upper()) is not None, "lookup by e-mail")
        expect(user.id in {u.id for u in users.with_preference("theme", "dark")}, "preference query")
        expect([m.user_id for m in members.with_role(org.id, "editor")] == [user.id], "role query")
        expect(keys.authenticate(secret) is not None, "API key authentication")
        updated = users.update(user.id, display_name="Smoke 2", preferences={"theme": "light"})
        renamed = users.get(user.id)
        expect(updated is not None and renamed is not None and renamed.display_name == "Smoke 2", "update")
    finally:
        users.delete(user.id)
        orgs.delete(org.id)
    expect(keys.find(keys.model.user_id == user.id) == [], "API keys cascade with the user")
    return {"user": str(user.id), "organisation": str(org.id)}


def _token() -> str:
    import secrets

    return secrets.token_hex(4)


SPEC = ServiceSpec(name="user", env_prefix=ENV_PREFIX, database=DATABASE, base=Base, migrations=MIGRATIONS,
                   smoke=smoke)
