"""MariaDB session setup: as MySQL (the SQL modes have the same names)."""

from __future__ import annotations

from ..mysql.operations import DatabaseOperations as MySQLOperations


class DatabaseOperations(MySQLOperations):
    pass
