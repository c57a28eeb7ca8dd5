"""MySQL provisioning SQL."""

from __future__ import annotations

from ..base.provisioning import BaseProvisioning


class DatabaseProvisioning(BaseProvisioning):
    identifier_quote = "`"
    max_database_name_length = 64
    max_user_name_length = 32
    charset = "utf8mb4"
    collation = "utf8mb4_bin"
    """The explicit collation of provisioned databases: binary, as TiDB's default, so
    string comparison and uniqueness are the same on every MySQL-family server."""

    def create_database_sql(self, name: str) -> list[str]:
        name = self.validate_identifier(name, setting="database")
        return [
            f"CREATE DATABASE IF NOT EXISTS {self.quote(name)} "
            f"CHARACTER SET {self.charset} COLLATE {self.collation}"
        ]

    def drop_database_sql(self, name: str) -> list[str]:
        name = self.validate_identifier(name, setting="database")
        return [f"DROP DATABASE IF EXISTS {self.quote(name)}"]
