"""SQL for creating databases and accounts (used by the services' ``provision``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from ...errors import ConfigurationError

if TYPE_CHECKING:
    from .base import DatabaseBackend

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class BaseProvisioning:
    """Builds the statements that create a database and its accounts.

    Identifiers are validated before any SQL is built: only letters, digits and
    underscores, starting with a letter or underscore, within the server's length limit.
    Passwords are never interpolated into SQL text here; backends bind them as parameters
    or send precomputed verifiers.
    """

    supports_accounts: ClassVar[bool] = True
    """The server has accounts and privileges (SQLite has none)."""

    max_database_name_length: ClassVar[int] = 64
    """The longest database name accepted."""

    max_user_name_length: ClassVar[int] = 32
    """The longest account name accepted, prefix included."""

    identifier_quote: ClassVar[str] = '"'
    """The character that quotes identifiers."""

    def __init__(self, backend: DatabaseBackend) -> None:
        self.backend = backend

    def validate_identifier(self, name: str, *, setting: str, max_length: int | None = None) -> str:
        """Return ``name`` if it is a safe identifier, else raise ConfigurationError."""
        limit = max_length or self.max_database_name_length
        if not _IDENTIFIER.fullmatch(name):
            raise ConfigurationError(
                setting,
                f"{name!r} is not a valid identifier: use letters, digits and underscores, "
                "starting with a letter or underscore",
            )
        if len(name) > limit:
            raise ConfigurationError(setting, f"{name!r} is {len(name)} characters; the limit is {limit}")
        return name

    def quote(self, name: str) -> str:
        """Quote an identifier that :meth:`validate_identifier` accepted."""
        q = self.identifier_quote
        return f"{q}{name}{q}"

    def create_database_sql(self, name: str) -> list[str]:
        """Statements that create the database ``name`` if it does not exist."""
        raise NotImplementedError

    def drop_database_sql(self, name: str) -> list[str]:
        """Statements that drop the database ``name`` if it exists."""
        raise NotImplementedError
