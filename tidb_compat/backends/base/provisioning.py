"""SQL for creating databases and accounts: the backend contract used by
:func:`tidb_compat.provisioning.provision`.

Each backend's ``provisioning.py`` says how its server creates a database, an account, a
password and the grants of the two service accounts (a *migrator* that owns the schema and
an *app* account that reads and writes rows).  The orchestrator never names a vendor: it
asks the flags below (``supports_accounts``, ``account_hosts``, ``transactional_ddl``,
``database_is_file``, ``uses_user_prefix``) and calls the methods, so a backend added
through the ``tidb_compat.backends`` entry points brings its own provisioning.

Every identifier is validated before any SQL is built: letters, digits and underscores,
starting with a letter or underscore, within the server's length limit.  Passwords are
never written into SQL text: backends bind them as parameters (:class:`Statement`
``params``, hidden from SQLAlchemy's logs by the orchestrator's ``hide_parameters``) or
send a precomputed verifier (PostgreSQL's SCRAM-SHA-256).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

from ...errors import ConfigurationError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ...settings import DatabaseSettings
    from .base import DatabaseBackend

__all__ = ["ACCOUNT_ROLES", "PASSWORD_SPECIALS", "Account", "AccountRole", "BaseProvisioning", "Statement"]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_HOST = re.compile(r"^[A-Za-z0-9.%_:-]+$")

AccountRole = Literal["migrator", "app"]
"""The two accounts of a service database: ``migrator`` (DDL: creates, alters, drops the
schema; Alembic's version table included) and ``app`` (rows only)."""

ACCOUNT_ROLES: tuple[AccountRole, ...] = ("migrator", "app")

PASSWORD_SPECIALS = "-._~"
"""The special characters of generated passwords: RFC 3986 *unreserved*, so a generated
password needs no percent-encoding in a URL (``%`` would trip ``configparser``
interpolation in ``alembic.ini``) and no quoting in a shell or a ``.env`` file."""


@dataclass(frozen=True)
class Statement:
    """One provisioning statement, for :func:`sqlalchemy.text`.

    ``sql`` uses ``:name`` bind parameters; a literal colon is written ``\\:``.  ``params``
    holds the bound values (passwords): they never appear in ``sql``, and ``repr`` hides
    them.
    """

    sql: str
    params: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Account:
    """A server account: the full user name (a TiDB Cloud prefix included) and, on servers
    whose accounts are scoped by client host (MySQL family), the host pattern."""

    name: str
    host: str | None = None

    def __str__(self) -> str:
        return self.name if self.host is None else f"'{self.name}'@'{self.host}'"


class BaseProvisioning:
    """Builds the statements that create a database and its accounts.

    Subclasses set the flags and implement the methods that raise ``NotImplementedError``.
    Methods that take a ``connection`` only read (catalog queries); every change is
    returned as statements so the orchestrator decides where (server or database
    connection), how (one transaction where the server allows it) and what to undo.
    """

    # -- capability flags --------------------------------------------------------------

    supports_accounts: ClassVar[bool] = True
    """The server has accounts and privileges (SQLite has none)."""

    database_is_file: ClassVar[bool] = False
    """A database is a local file (SQLite): :meth:`create_database_file` makes it; there is
    no admin connection and no SQL."""

    account_hosts: ClassVar[bool] = False
    """Accounts are scoped by client host (``'name'@'host'``: MySQL family).  Where False,
    only the default host ``%`` is accepted (PostgreSQL restricts hosts in pg_hba.conf)."""

    transactional_ddl: ClassVar[bool] = False
    """Account, role and grant statements run in one transaction (PostgreSQL): a failed
    step leaves nothing of itself.  MySQL-family servers commit each statement."""

    uses_user_prefix: ClassVar[bool] = False
    """User names carry a prefix derived from the admin user (TiDB Cloud Serverless:
    ``<cluster prefix>.root`` -> ``<cluster prefix>.<name>``)."""

    # -- limits --------------------------------------------------------------------------

    max_database_name_length: ClassVar[int] = 64
    """The longest database name accepted."""

    max_user_name_length: ClassVar[int] = 32
    """The longest account name accepted, prefix included."""

    identifier_quote: ClassVar[str] = '"'
    """The character that quotes identifiers."""

    reserved_database_names: ClassVar[frozenset[str]] = frozenset()
    """System databases that provisioning refuses to touch."""

    reserved_user_names: ClassVar[frozenset[str]] = frozenset()
    """System accounts that provisioning refuses to touch."""

    reserved_user_prefixes: ClassVar[tuple[str, ...]] = ()
    """Name prefixes the server reserves (PostgreSQL: ``pg_``)."""

    min_password_length: ClassVar[int] = 8
    max_password_length: ClassVar[int] = 128

    def __init__(self, backend: DatabaseBackend) -> None:
        self.backend = backend

    @property
    def display_name(self) -> str:
        return self.backend.display_name or self.backend.vendor

    # -- identifiers ---------------------------------------------------------------------

    def validate_identifier(self, name: str, *, setting: str, max_length: int | None = None) -> str:
        """Return ``name`` if it is a safe identifier, else raise ConfigurationError."""
        limit = max_length or self.max_database_name_length
        if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
            raise ConfigurationError(
                setting,
                f"{name!r} is not a valid identifier: use letters, digits and underscores, "
                "starting with a letter or underscore (no quotes, backticks, semicolons, dots or spaces)",
            )
        if len(name) > limit:
            raise ConfigurationError(setting, f"{name!r} is {len(name)} characters; the limit is {limit}")
        return name

    def _validate_name(self, name: str, *, setting: str, max_length: int, kind: str) -> str:
        self.validate_identifier(name, setting=setting, max_length=max_length)
        if not _NAME.fullmatch(name):
            raise ConfigurationError(
                setting,
                f"{name!r}: use lower case ({kind} names are case-sensitive on some servers and not on others)",
            )
        return name

    def validate_database_name(self, name: str, *, setting: str = "database") -> str:
        """A database name for provisioning: a lower-case identifier, not a system database."""
        self._validate_name(name, setting=setting, max_length=self.max_database_name_length, kind="database")
        if name in self.reserved_database_names:
            raise ConfigurationError(setting, f"{name!r} is a system database of {self.display_name}")
        return name

    def user_prefix(self, admin_username: str | None) -> str:
        """The prefix of account names, derived from the admin user name (``""``: none)."""
        return ""

    def validate_user_prefix(self, prefix: str, *, setting: str = "user_prefix") -> str:
        """An explicitly given prefix, normalised (backends with prefixes override this)."""
        if prefix:
            raise ConfigurationError(setting, f"{self.display_name} account names carry no prefix")
        return ""

    def validate_host(self, host: str, *, setting: str = "account_host") -> str | None:
        """The host part of accounts (``None`` where accounts have none)."""
        if not self.account_hosts:
            if host != "%":
                raise ConfigurationError(
                    setting,
                    f"{self.display_name} accounts have no host part; restrict client hosts in the server's "
                    "own configuration (pg_hba.conf on PostgreSQL)",
                )
            return None
        if not _HOST.fullmatch(host) or len(host) > 255:
            raise ConfigurationError(
                setting, f"{host!r} is not a host pattern: use a host name, an IP address, or % and _ wildcards"
            )
        return host

    def account(self, name: str, *, setting: str, prefix: str = "", host: str | None = None) -> Account:
        """The account for ``name`` (the prefix is added unless ``name`` already has it),
        validated: a lower-case identifier, not a system account, and at most
        :attr:`max_user_name_length` characters *with* the prefix."""
        base = name[len(prefix):] if prefix and name.startswith(prefix) else name
        self._validate_name(base, setting=setting, max_length=self.max_user_name_length, kind="account")
        full = f"{prefix}{base}"
        if len(full) > self.max_user_name_length:
            raise ConfigurationError(
                setting,
                f"{full!r} is {len(full)} characters with the prefix {prefix!r}; "
                f"{self.display_name} allows {self.max_user_name_length}",
            )
        if base in self.reserved_user_names or full in self.reserved_user_names:
            raise ConfigurationError(setting, f"{base!r} is a system account of {self.display_name}")
        if any(base.startswith(p) for p in self.reserved_user_prefixes):
            reserved = ", ".join(self.reserved_user_prefixes)
            raise ConfigurationError(setting, f"{base!r}: names starting with {reserved} are reserved")
        return Account(full, host)

    def quote(self, name: str) -> str:
        """Quote an identifier that :meth:`validate_identifier` accepted."""
        q = self.identifier_quote
        return f"{q}{name}{q}"

    # -- passwords -----------------------------------------------------------------------

    def password_problems(self, password: str) -> list[str]:
        """What ``password`` lacks under this server's policy (``[]``: acceptable).

        The policy is TiDB Cloud Serverless's (8+ characters with upper, lower, digit and
        special) on every backend, so a password that works on one works on all; only
        printable ASCII without spaces is accepted (PostgreSQL's SCRAM would otherwise
        need SASLprep normalisation, and URLs and ``.env`` files stay unambiguous).
        """
        problems: list[str] = []
        if len(password) < self.min_password_length:
            problems.append(f"at least {self.min_password_length} characters")
        if len(password) > self.max_password_length:
            problems.append(f"at most {self.max_password_length} characters")
        if any(not ("!" <= c <= "~") for c in password):
            problems.append("printable ASCII characters only, no spaces")
        for label, chars in (
            ("an upper-case letter", string.ascii_uppercase),
            ("a lower-case letter", string.ascii_lowercase),
            ("a digit", string.digits),
            ("a special character", string.punctuation),
        ):
            if not any(c in chars for c in password):
                problems.append(label)
        return problems

    def validate_password(self, password: str, *, setting: str) -> str:
        """Return ``password`` if it meets the policy; the error never contains it."""
        if not isinstance(password, str):
            raise ConfigurationError(setting, "the password must be a string")
        problems = self.password_problems(password)
        if problems:
            raise ConfigurationError(
                setting, f"the password does not meet {self.display_name}'s policy: it needs {', '.join(problems)}"
            )
        return password

    # -- where the database is -------------------------------------------------------------

    def database_settings(self, admin: DatabaseSettings, name: str) -> DatabaseSettings:
        """Connection settings of database ``name`` on the admin's server, without
        credentials (TLS, backend and driver options are kept)."""
        return admin.replace(
            database=name, username=None, password=None, sources={**admin.sources, "database": "database"}
        )

    def create_database_file(self, settings: DatabaseSettings) -> bool:
        """Create the database file of ``settings`` (:attr:`database_is_file` backends);
        True if it was created by this call."""
        raise NotImplementedError

    # -- catalog reads (no changes) ----------------------------------------------------------

    def database_exists(self, connection: Connection, name: str) -> bool:
        raise NotImplementedError

    def account_exists(self, connection: Connection, account: Account) -> bool:
        raise NotImplementedError

    def account_problems(
        self, connection: Connection, account: Account, *, database: str, role: AccountRole
    ) -> list[str]:
        """Why an *existing* account cannot serve as ``role`` of ``database``: privileges
        beyond what provisioning grants (server-wide, on other databases, grant options).
        Provisioning refuses such an account rather than calling it least-privilege."""
        return []

    def grant_problems(self, connection: Connection, database: str, *, migrator: Account, app: Account) -> list[str]:
        """After :meth:`grant_sql` (in its transaction where :attr:`transactional_ddl`): what
        is not in effect.  For servers that *warn* instead of failing when a grant cannot be
        made (PostgreSQL: "no privileges were granted"); ``[]`` where a failed GRANT raises."""
        return []

    def database_grant_problems(
        self, connection: Connection, database: str, *, migrator: Account, app: Account
    ) -> list[str]:
        """As :meth:`grant_problems`, for :meth:`database_grant_sql`, connected to ``database``."""
        return []

    # -- statements ---------------------------------------------------------------------------

    def create_database_sql(self, name: str) -> list[str]:
        """Statements that create the database ``name`` (callers check existence first where
        the server has no ``IF NOT EXISTS``)."""
        raise NotImplementedError

    def drop_database_sql(self, name: str) -> list[str]:
        """Statements that drop the database ``name`` if it exists."""
        raise NotImplementedError

    def create_account_sql(self, account: Account, password: str) -> list[Statement]:
        """Create ``account`` with ``password`` (bound, or sent as a verifier)."""
        raise NotImplementedError

    def set_password_sql(self, account: Account, password: str) -> list[Statement]:
        """Give the existing ``account`` a new password."""
        raise NotImplementedError

    def drop_account_sql(self, account: Account) -> list[Statement]:
        """Drop ``account`` and what it holds (used to undo a failed provision)."""
        raise NotImplementedError

    def grant_sql(self, database: str, *, migrator: Account, app: Account) -> list[Statement]:
        """Grants run on the admin connection: the migrator gets every privilege on
        ``database`` and nothing else, without GRANT OPTION; the app account gets SELECT,
        INSERT, UPDATE, DELETE.  Idempotent: a second run changes nothing."""
        raise NotImplementedError

    def database_grant_sql(self, database: str, *, migrator: Account, app: Account) -> list[Statement]:
        """Grants that must run connected to ``database`` itself (PostgreSQL's schema
        privileges and default privileges); ``[]`` where there are none."""
        return []
