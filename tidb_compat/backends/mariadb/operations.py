"""MariaDB session setup: as MySQL (the SQL modes have the same names)."""

from __future__ import annotations

from typing import Any

from ..mysql.operations import DatabaseOperations as MySQLOperations


class DatabaseOperations(MySQLOperations):
    def configure_dialect(self, dialect: Any) -> None:
        """Store ``sa.Uuid`` as ``CHAR(32)``, as on TiDB and MySQL, not as MariaDB's native
        ``UUID`` (10.7+), whose index order differs from the text order: keys then sort and
        paginate the same on every backend, and MariaDB keeps standing in for TiDB."""
        dialect.supports_native_uuid = False
