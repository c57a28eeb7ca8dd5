"""TiDB backend wiring and version identification."""

from __future__ import annotations

import re
from typing import ClassVar

from sqlalchemy.dialects.mysql import pymysql as sa_pymysql
from sqlalchemy.engine import Dialect

from ..base.base import VersionTuple, parse_leading_version
from ..mysql.base import DatabaseBackend as MySQLBackend
from .driver import DatabaseDriver
from .errors import DatabaseErrors
from .features import DatabaseFeatures
from .operations import DatabaseOperations
from .provisioning import DatabaseProvisioning

TIDB_CLOUD_VERSION: VersionTuple = (8, 5, 0)
"""The version assumed for a TiDB Cloud build (``8.0.11-TiDB-CLOUD.202603.9``), which carries
no semantic version: the newest GA line this backend knows (8.5 LTS).  This is the one place
that decides it; every version-gated flag follows from it."""

_TIDB_MARKER = re.compile(r"-TiDB-", re.IGNORECASE)
_TIDB_SEMVER = re.compile(r"-TiDB-v(\d+)\.(\d+)\.(\d+)", re.IGNORECASE)


class DatabaseBackend(MySQLBackend):
    vendor = "tidb"
    display_name = "TiDB"
    generic = False
    default_version: ClassVar[VersionTuple] = TIDB_CLOUD_VERSION
    features_class = DatabaseFeatures
    driver_class = DatabaseDriver
    ops_class = DatabaseOperations
    errors_class = DatabaseErrors
    provisioning_class = DatabaseProvisioning

    @classmethod
    def parse_version(cls, version_string: str) -> VersionTuple | None:
        """``8.0.11-TiDB-v8.5.5`` -> ``(8, 5, 5)``; a build without a semantic version
        (``8.0.11-TiDB-CLOUD.202603.9``) -> :data:`TIDB_CLOUD_VERSION`."""
        text = version_string.strip()
        if not _TIDB_MARKER.search(text):
            return None
        match = _TIDB_SEMVER.search(text)
        if match is None:
            return TIDB_CLOUD_VERSION
        return tuple(int(part) for part in match.groups())

    @staticmethod
    def mysql_compat_version(version_string: str | None) -> VersionTuple:
        """The MySQL version TiDB claims (``8.0.11`` in ``8.0.11-TiDB-v8.5.5``)."""
        parsed = parse_leading_version(version_string or "")
        return parsed if parsed is not None else (8, 0, 11)

    def dialect(self) -> Dialect:
        dialect = sa_pymysql.dialect()
        dialect.server_version_info = self.mysql_compat_version(self.version_string)
        return dialect
