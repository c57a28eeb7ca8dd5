"""User service repositories (sync and async): CRUD from tidb_compat.repository plus the
domain queries: users by e-mail or preference, members by role, API keys by secret."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from typing import Any

import sqlalchemy as sa

from tidb_compat.repository import AsyncRepository, Repository

from .models import ApiKey, Membership, Organisation, User, UserSession, normalise_email

KEY_PREFIX = "dsk_"


def hash_secret(secret: str) -> str:
    """API keys and session tokens are stored as SHA-256 digests, never in clear."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _preference(key: str, value: Any) -> sa.ColumnElement[bool]:
    return User.preferences.contains({key: value})


class UserRepository(Repository[User]):
    model = User
    order_by = ("created_at",)

    def get_by_email(self, email: str) -> User | None:
        found = self.find(User.email == normalise_email(email), limit=1)
        return found[0] if found else None

    def with_preference(self, key: str, value: Any) -> list[User]:
        """Users whose preferences hold ``key: value`` (JSON containment on every backend)."""
        return self.find(_preference(key, value))


class OrganisationRepository(Repository[Organisation]):
    model = Organisation


class MembershipRepository(Repository[Membership]):
    model = Membership

    def with_role(self, organisation_id: uuid.UUID, role: str) -> list[Membership]:
        return self.find(Membership.organisation_id == organisation_id, Membership.roles.contains([role]))

    def with_any_role(self, organisation_id: uuid.UUID, roles: list[str]) -> list[Membership]:
        return self.find(Membership.organisation_id == organisation_id, Membership.roles.overlap(roles))


class ApiKeyRepository(Repository[ApiKey]):
    model = ApiKey

    def issue(self, user_id: uuid.UUID, name: str, scopes: list[str],
              expires_at: dt.datetime | None = None) -> tuple[ApiKey, str]:
        """Create a key; the secret is returned once and only its digest is stored."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = self.create(user_id=user_id, name=name, prefix=secret[:12], key_hash=hash_secret(secret),
                          scopes=scopes, expires_at=expires_at)
        return key, secret

    def authenticate(self, secret: str, now: dt.datetime | None = None) -> ApiKey | None:
        """The live key for ``secret`` (not expired), recording its use."""
        moment = now or dt.datetime.now(dt.UTC)
        found = self.find(
            ApiKey.key_hash == hash_secret(secret),
            sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > moment),
            limit=1,
        )
        if not found:
            return None
        return self.update(found[0].id, last_used_at=moment)


class SessionRepository(Repository[UserSession]):
    model = UserSession


class AsyncUserRepository(AsyncRepository[User]):
    model = User
    order_by = ("created_at",)

    async def get_by_email(self, email: str) -> User | None:
        found = await self.find(User.email == normalise_email(email), limit=1)
        return found[0] if found else None

    async def with_preference(self, key: str, value: Any) -> list[User]:
        return await self.find(_preference(key, value))


class AsyncMembershipRepository(AsyncRepository[Membership]):
    model = Membership
