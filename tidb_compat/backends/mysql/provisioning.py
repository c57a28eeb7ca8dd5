"""MySQL provisioning SQL (TiDB and MariaDB extend it).

- ``CREATE DATABASE IF NOT EXISTS `db` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin``;
- ``CREATE USER 'name'@'host' IDENTIFIED BY :password`` (PyMySQL interpolates the bound value
  client-side; the orchestrator's engine hides parameters from logs and error messages);
- ``GRANT ALL PRIVILEGES ON `db`.* TO migrator`` (ALL excludes GRANT OPTION) and
  ``GRANT SELECT, INSERT, UPDATE, DELETE ON `db`.* TO app``.

``_`` and ``%`` in the database name of a database-level GRANT are LIKE wildcards on MySQL,
MariaDB and TiDB: ``tc_user_db`` would also match ``tcXuserXdb``.  Grants therefore name the
database escaped (``tc\\_user\\_db``), which matches that one database only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import sqlalchemy as sa

from ..base.provisioning import Account, AccountRole, BaseProvisioning, Statement

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

APP_PRIVILEGES: tuple[str, ...] = ("SELECT", "INSERT", "UPDATE", "DELETE")


class DatabaseProvisioning(BaseProvisioning):
    identifier_quote = "`"
    account_hosts = True
    max_database_name_length = 64
    max_user_name_length = 32
    reserved_database_names: ClassVar[frozenset[str]] = frozenset(
        {"mysql", "information_schema", "performance_schema", "sys"}
    )
    reserved_user_names: ClassVar[frozenset[str]] = frozenset({"root", "mysql"})
    charset = "utf8mb4"
    collation = "utf8mb4_bin"
    """The explicit collation of provisioned databases: binary, as TiDB's default, so
    string comparison and uniqueness are the same on every MySQL-family server."""

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def account_literal(account: Account) -> str:
        """``'name'@'host'`` for a validated account (no quotes can occur in either part)."""
        return f"'{account.name}'@'{account.host or '%'}'"

    @staticmethod
    def grant_pattern(database: str) -> str:
        """The database name as a GRANT pattern matching only itself (``_`` escaped)."""
        return database.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")

    # -- reads --------------------------------------------------------------------------------

    def database_exists(self, connection: Connection, name: str) -> bool:
        row = connection.execute(
            sa.text("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :name"), {"name": name}
        ).first()
        return row is not None

    def account_exists(self, connection: Connection, account: Account) -> bool:
        row = connection.execute(
            sa.text("SELECT 1 FROM mysql.user WHERE User = :user AND Host = :host"),
            {"user": account.name, "host": account.host or "%"},
        ).first()
        return row is not None

    def account_problems(
        self, connection: Connection, account: Account, *, database: str, role: AccountRole
    ) -> list[str]:
        grantee = self.account_literal(account)
        own = {database, self.grant_pattern(database)}
        allowed = set(APP_PRIVILEGES) if role == "app" else None  # None: any database privilege
        problems: list[str] = []
        global_privileges = sorted(
            {
                str(p).upper()
                for (p,) in connection.execute(
                    sa.text("SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = :g"),
                    {"g": grantee},
                )
            }
            - {"USAGE"}
        )
        if global_privileges:
            problems.append(f"server-wide privileges ({', '.join(global_privileges)})")
        excess: dict[str, set[str]] = {}
        for table in ("SCHEMA_PRIVILEGES", "TABLE_PRIVILEGES"):
            rows = connection.execute(
                sa.text(
                    f"SELECT TABLE_SCHEMA, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.{table} "
                    "WHERE GRANTEE = :g"
                ),
                {"g": grantee},
            ).all()
            for schema, privilege, grantable in rows:
                privilege = str(privilege).upper()
                shown = str(schema).replace("\\_", "_").replace("\\%", "%")  # as granted: an escaped pattern
                if schema not in own:
                    excess.setdefault(shown, set()).add(privilege)
                elif str(grantable).upper() == "YES":
                    excess.setdefault(shown, set()).add("GRANT OPTION")
                elif allowed is not None and privilege not in allowed:
                    excess.setdefault(shown, set()).add(privilege)
        problems += [f"{', '.join(sorted(privs))} on database {name!r}" for name, privs in sorted(excess.items())]
        return problems

    # -- statements -----------------------------------------------------------------------------

    def create_database_sql(self, name: str) -> list[str]:
        name = self.validate_identifier(name, setting="database")
        return [
            f"CREATE DATABASE IF NOT EXISTS {self.quote(name)} "
            f"CHARACTER SET {self.charset} COLLATE {self.collation}"
        ]

    def drop_database_sql(self, name: str) -> list[str]:
        name = self.validate_identifier(name, setting="database")
        return [f"DROP DATABASE IF EXISTS {self.quote(name)}"]

    def create_account_sql(self, account: Account, password: str) -> list[Statement]:
        literal = self.account_literal(account)
        return [Statement(f"CREATE USER {literal} IDENTIFIED BY :password", {"password": password})]

    def set_password_sql(self, account: Account, password: str) -> list[Statement]:
        literal = self.account_literal(account)
        return [Statement(f"ALTER USER {literal} IDENTIFIED BY :password", {"password": password})]

    def drop_account_sql(self, account: Account) -> list[Statement]:
        return [Statement(f"DROP USER IF EXISTS {self.account_literal(account)}")]

    def grant_sql(self, database: str, *, migrator: Account, app: Account) -> list[Statement]:
        target = f"{self.quote(self.grant_pattern(database))}.*"
        return [
            Statement(f"GRANT ALL PRIVILEGES ON {target} TO {self.account_literal(migrator)}"),
            Statement(f"GRANT {', '.join(APP_PRIVILEGES)} ON {target} TO {self.account_literal(app)}"),
        ]
