"""PostgreSQL provisioning SQL."""

from __future__ import annotations

from ..base.provisioning import BaseProvisioning


class DatabaseProvisioning(BaseProvisioning):
    identifier_quote = '"'
    max_database_name_length = 63
    max_user_name_length = 63

    def create_database_sql(self, name: str) -> list[str]:
        # PostgreSQL has no CREATE DATABASE IF NOT EXISTS: callers check existence first.
        name = self.validate_identifier(name, setting="database")
        return [f"CREATE DATABASE {self.quote(name)} ENCODING 'UTF8' TEMPLATE template0"]

    def drop_database_sql(self, name: str) -> list[str]:
        name = self.validate_identifier(name, setting="database")
        return [f"DROP DATABASE IF EXISTS {self.quote(name)}"]
