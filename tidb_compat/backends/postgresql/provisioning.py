"""PostgreSQL provisioning SQL.

Database: ``CREATE DATABASE "db" ENCODING 'UTF8' TEMPLATE template0``, owned by the admin;
``CONNECT`` and ``TEMPORARY`` revoked from ``PUBLIC``.

Roles: ``CREATE ROLE ... LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
PASSWORD 'SCRAM-SHA-256$...'``: the password is sent as a SCRAM-SHA-256 verifier computed
here (:func:`scram_sha256_verifier`), the form ``psql``'s ``\\password`` sends, so no
plaintext password reaches the server's statement log (or SQLAlchemy's echo).

Who owns what: the admin keeps the database (and, on PostgreSQL 15+, the ``public`` schema,
owned by ``pg_database_owner``); the migrator gets ``ALL`` on the database (CONNECT, CREATE,
TEMPORARY) and ``USAGE, CREATE`` on schema ``public``, so it owns every table it creates
and can alter and drop them, but it cannot drop the database, change its settings or grant
access to it to other roles, as a database owner could.  The app role gets CONNECT,
``USAGE`` on ``public`` and, through ``ALTER DEFAULT PRIVILEGES FOR ROLE <migrator>``,
SELECT/INSERT/UPDATE/DELETE on the tables (USAGE/SELECT on the sequences) the migrator
creates later.  ``ALTER DEFAULT PRIVILEGES FOR ROLE`` needs membership in the migrator role
unless the admin is a superuser, so the admin is granted the migrator role (``GRANT
"migrator" TO CURRENT_USER``: a managed server's non-superuser admin, which created the
role, may do that; the admin could change the role's password anyway).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa

from ..base.provisioning import Account, AccountRole, BaseProvisioning, Statement

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["DatabaseProvisioning", "scram_sha256_verifier", "verify_scram_sha256"]

SCRAM_ITERATIONS = 4096
"""PostgreSQL's default ``scram_iterations``."""

SCRAM_SALT_BYTES = 16
"""PostgreSQL's salt length (``SCRAM_DEFAULT_SALT_LEN``)."""

APP_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
APP_SEQUENCE_PRIVILEGES = "USAGE, SELECT"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scram_keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    """(StoredKey, ServerKey) of RFC 5802 section 3 with SHA-256 (RFC 7677)."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return stored_key, server_key


def scram_sha256_verifier(password: str, *, salt: bytes | None = None, iterations: int = SCRAM_ITERATIONS) -> str:
    """The verifier PostgreSQL stores for ``password``:
    ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`` (base64), with a random
    16-byte salt.  The password must be printable ASCII (the provisioning policy), for which
    SASLprep is the identity, so the verifier equals the one the server would compute."""
    salt = secrets.token_bytes(SCRAM_SALT_BYTES) if salt is None else salt
    stored_key, server_key = _scram_keys(password, salt, iterations)
    return f"SCRAM-SHA-256${iterations}:{_b64(salt)}${_b64(stored_key)}:{_b64(server_key)}"


def verify_scram_sha256(password: str, verifier: str) -> bool:
    """True if ``verifier`` (e.g. ``pg_authid.rolpassword``) was made from ``password``."""
    try:
        method, rest = verifier.split("$", 1)
        iterations_salt, keys = rest.split("$", 1)
        iterations, salt = iterations_salt.split(":", 1)
        stored, server = keys.split(":", 1)
        if method != "SCRAM-SHA-256":
            return False
        stored_key, server_key = _scram_keys(password, base64.b64decode(salt, validate=True), int(iterations))
        return hmac.compare_digest(stored_key, base64.b64decode(stored, validate=True)) and hmac.compare_digest(
            server_key, base64.b64decode(server, validate=True)
        )
    except (ValueError, TypeError):
        return False


def _literal(text: str) -> str:
    """A SQL string literal for :func:`sqlalchemy.text` (quotes doubled, colons escaped)."""
    return "'" + text.replace("'", "''").replace(":", "\\:") + "'"


class DatabaseProvisioning(BaseProvisioning):
    identifier_quote = '"'
    transactional_ddl = True
    max_database_name_length = 63
    max_user_name_length = 63
    reserved_database_names: ClassVar[frozenset[str]] = frozenset({"postgres", "template0", "template1"})
    reserved_user_names: ClassVar[frozenset[str]] = frozenset(
        {"postgres", "public", "none", "current_user", "session_user", "current_role"}
    )
    reserved_user_prefixes: ClassVar[tuple[str, ...]] = ("pg_",)

    # -- reads ------------------------------------------------------------------------------

    def database_exists(self, connection: Connection, name: str) -> bool:
        row = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}).first()
        return row is not None

    def account_exists(self, connection: Connection, account: Account) -> bool:
        query = sa.text("SELECT 1 FROM pg_roles WHERE rolname = :name")
        return connection.execute(query, {"name": account.name}).first() is not None

    def account_problems(
        self, connection: Connection, account: Account, *, database: str, role: AccountRole
    ) -> list[str]:
        problems: list[str] = []
        attributes = connection.execute(
            sa.text(
                "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
                "FROM pg_roles WHERE rolname = :name"
            ),
            {"name": account.name},
        ).one()
        for label, value in zip(("SUPERUSER", "CREATEDB", "CREATEROLE", "REPLICATION", "BYPASSRLS"), attributes,
                                strict=True):
            if value:
                problems.append(f"the {label} attribute")
        for (group,) in connection.execute(
            sa.text(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :name"
            ),
            {"name": account.name},
        ):
            problems.append(f"membership in role {group!r}")
        for (owned,) in connection.execute(
            sa.text(
                "SELECT d.datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = :name"
            ),
            {"name": account.name},
        ):
            problems.append(f"ownership of database {owned!r}")
        allowed = {"CONNECT"} if role == "app" else {"CONNECT", "CREATE", "TEMPORARY"}
        for datname, privilege, grantable in connection.execute(
            sa.text(
                "SELECT d.datname, a.privilege_type, a.is_grantable "
                "FROM pg_database d CROSS JOIN LATERAL aclexplode(d.datacl) a "
                "JOIN pg_roles r ON r.oid = a.grantee WHERE r.rolname = :name"
            ),
            {"name": account.name},
        ):
            if datname != database:
                problems.append(f"{privilege} on database {datname!r}")
            elif grantable:
                problems.append(f"GRANT OPTION on database {database!r}")
            elif privilege not in allowed:
                problems.append(f"{privilege} on database {database!r}")
        return sorted(set(problems))

    def grant_problems(self, connection: Connection, database: str, *, migrator: Account, app: Account) -> list[str]:
        row = connection.execute(
            sa.text(
                # one privilege per call: with a list, has_*_privilege is true if ANY is held
                "SELECT has_database_privilege(:m, :db, 'CONNECT') AND has_database_privilege(:m, :db, 'CREATE') "
                "AND has_database_privilege(:m, :db, 'TEMPORARY'), "
                "has_database_privilege(:m, :db, 'CREATE WITH GRANT OPTION'), "
                "has_database_privilege(:a, :db, 'CONNECT'), "
                "(SELECT datacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(datacl) x WHERE x.grantee = 0) "
                " FROM pg_database WHERE datname = :db)"
            ),
            {"m": migrator.name, "a": app.name, "db": database},
        ).one()
        migrator_ok, migrator_grants, app_ok, public_ok = row
        problems = []
        if not migrator_ok:
            problems.append(f"{migrator.name} lacks CONNECT, CREATE, TEMPORARY on database {database!r}")
        if migrator_grants:
            problems.append(f"{migrator.name} holds GRANT OPTION on database {database!r}")
        if not app_ok:
            problems.append(f"{app.name} lacks CONNECT on database {database!r}")
        if public_ok:
            problems.append(f"PUBLIC still has privileges on database {database!r}")
        return problems

    def database_grant_problems(
        self, connection: Connection, database: str, *, migrator: Account, app: Account
    ) -> list[str]:
        row = connection.execute(
            sa.text(
                "SELECT has_schema_privilege(:m, 'public', 'USAGE') AND has_schema_privilege(:m, 'public', 'CREATE'), "
                "has_schema_privilege(:a, 'public', 'USAGE'), "
                "has_schema_privilege(:a, 'public', 'CREATE'), "
                "(SELECT count(DISTINCT d.defaclobjtype::text || x.privilege_type) FROM pg_default_acl d "
                " JOIN pg_namespace n ON n.oid = d.defaclnamespace CROSS JOIN LATERAL aclexplode(d.defaclacl) x "
                " WHERE n.nspname = 'public' AND d.defaclrole = (SELECT oid FROM pg_roles WHERE rolname = :m) "
                " AND x.grantee = (SELECT oid FROM pg_roles WHERE rolname = :a))"
            ),
            {"m": migrator.name, "a": app.name},
        ).one()
        migrator_ok, app_usage, app_create, default_privileges = row
        problems = []
        if not migrator_ok:
            problems.append(f"{migrator.name} lacks USAGE, CREATE on schema public")
        if not app_usage:
            problems.append(f"{app.name} lacks USAGE on schema public")
        if app_create:
            problems.append(f"{app.name} can CREATE in schema public")
        if default_privileges != 6:  # tables: SELECT INSERT UPDATE DELETE; sequences: USAGE SELECT
            problems.append(f"the default privileges of {migrator.name}'s future tables for {app.name} are incomplete")
        return problems

    # -- statements ---------------------------------------------------------------------------

    def create_database_sql(self, name: str) -> list[str]:
        # PostgreSQL has no CREATE DATABASE IF NOT EXISTS: callers check existence first.
        name = self.validate_identifier(name, setting="database")
        return [f"CREATE DATABASE {self.quote(name)} ENCODING 'UTF8' TEMPLATE template0"]

    def drop_database_sql(self, name: str) -> list[str]:
        name = self.validate_identifier(name, setting="database")
        return [f"DROP DATABASE IF EXISTS {self.quote(name)}"]

    def create_account_sql(self, account: Account, password: str) -> list[Statement]:
        verifier = _literal(scram_sha256_verifier(password))
        return [
            Statement(
                f"CREATE ROLE {self.quote(account.name)} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
                f"NOREPLICATION NOBYPASSRLS PASSWORD {verifier}"
            )
        ]

    def set_password_sql(self, account: Account, password: str) -> list[Statement]:
        verifier = _literal(scram_sha256_verifier(password))
        return [Statement(f"ALTER ROLE {self.quote(account.name)} WITH PASSWORD {verifier}")]

    def drop_account_sql(self, account: Account) -> list[Statement]:
        # DROP OWNED also revokes the role's privileges on shared objects (databases).
        name = self.quote(account.name)
        return [Statement(f"DROP OWNED BY {name}"), Statement(f"DROP ROLE IF EXISTS {name}")]

    def grant_sql(self, database: str, *, migrator: Account, app: Account) -> list[Statement]:
        db, m, a = self.quote(database), self.quote(migrator.name), self.quote(app.name)
        return [
            # A role that existed without LOGIN (a re-run completing it) can log in afterwards.
            Statement(f"ALTER ROLE {m} WITH LOGIN"),
            Statement(f"ALTER ROLE {a} WITH LOGIN"),
            Statement(f"REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC"),
            Statement(f"GRANT ALL PRIVILEGES ON DATABASE {db} TO {m}"),
            Statement(f"GRANT CONNECT ON DATABASE {db} TO {a}"),
            Statement(f"GRANT {m} TO CURRENT_USER"),
        ]

    def database_grant_sql(self, database: str, *, migrator: Account, app: Account) -> list[Statement]:
        m, a = self.quote(migrator.name), self.quote(app.name)
        return [
            Statement("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),  # PostgreSQL < 15 grants it
            Statement(f"GRANT USAGE, CREATE ON SCHEMA public TO {m}"),
            Statement(f"GRANT USAGE ON SCHEMA public TO {a}"),
            Statement(f"GRANT {APP_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA public TO {a}"),
            Statement(f"GRANT {APP_SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA public TO {a}"),
            Statement(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {m} IN SCHEMA public GRANT {APP_TABLE_PRIVILEGES} ON TABLES TO {a}"
            ),
            Statement(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {m} IN SCHEMA public "
                f"GRANT {APP_SEQUENCE_PRIVILEGES} ON SEQUENCES TO {a}"
            ),
        ]
