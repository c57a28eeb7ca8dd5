"""MariaDB backend wiring."""

from __future__ import annotations

import re
from typing import ClassVar

from sqlalchemy.dialects.mysql import pymysql as sa_pymysql
from sqlalchemy.engine import Dialect

from ..base.base import VersionTuple
from ..mysql.base import DatabaseBackend as MySQLBackend
from .driver import DatabaseDriver
from .errors import DatabaseErrors
from .features import DatabaseFeatures
from .operations import DatabaseOperations
from .provisioning import DatabaseProvisioning

# "10.11.6-MariaDB-0+deb12u1", or with the replication-compatibility prefix
# "5.5.5-10.11.6-MariaDB" that MariaDB sends in the protocol handshake.
_MARIADB = re.compile(r"^(?:5\.5\.5-)?(\d+)\.(\d+)\.(\d+)[^\s]*?-MariaDB", re.IGNORECASE)


class DatabaseBackend(MySQLBackend):
    vendor = "mariadb"
    display_name = "MariaDB"
    generic = False
    default_version: ClassVar[VersionTuple] = (10, 11, 0)
    features_class = DatabaseFeatures
    driver_class = DatabaseDriver
    ops_class = DatabaseOperations
    errors_class = DatabaseErrors
    provisioning_class = DatabaseProvisioning

    @classmethod
    def parse_version(cls, version_string: str) -> VersionTuple | None:
        match = _MARIADB.match(version_string.strip())
        if match is None:
            return None
        return tuple(int(part) for part in match.groups())

    def dialect(self) -> Dialect:
        dialect = sa_pymysql.dialect(is_mariadb=True)
        dialect.server_version_info = self.server_version
        self.ops.configure_dialect(dialect)
        return dialect
