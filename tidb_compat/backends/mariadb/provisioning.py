"""MariaDB provisioning SQL: MySQL's, with MariaDB's longer user names."""

from __future__ import annotations

from ..mysql.provisioning import DatabaseProvisioning as MySQLProvisioning


class DatabaseProvisioning(MySQLProvisioning):
    max_user_name_length = 80
