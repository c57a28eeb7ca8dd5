"""SQLite provisioning: a database is a file, and there are no accounts."""

from __future__ import annotations

from ..base.provisioning import BaseProvisioning


class DatabaseProvisioning(BaseProvisioning):
    supports_accounts = False
    """SQLite has no accounts or privileges: access is the file's permissions."""
    identifier_quote = '"'

    def create_database_sql(self, name: str) -> list[str]:
        self.validate_identifier(name, setting="database")
        return []  # the file is created on first connect

    def drop_database_sql(self, name: str) -> list[str]:
        self.validate_identifier(name, setting="database")
        return []
