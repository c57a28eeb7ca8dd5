"""MariaDB drivers: the MySQL ones (PyMySQL, aiomysql)."""

from __future__ import annotations

from ..mysql.driver import DatabaseDriver as MySQLDriver


class DatabaseDriver(MySQLDriver):
    pass
