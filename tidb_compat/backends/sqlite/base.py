"""SQLite backend wiring."""

from __future__ import annotations

import re
import sqlite3
from typing import Any, ClassVar

from sqlalchemy.dialects.sqlite import pysqlite as sa_pysqlite
from sqlalchemy.engine import Dialect

from ..base.base import DatabaseBackend as BaseBackend
from ..base.base import VersionTuple, parse_leading_version
from .driver import DatabaseDriver
from .errors import DatabaseErrors
from .features import DatabaseFeatures
from .operations import DatabaseOperations
from .provisioning import DatabaseProvisioning
from .schema import length_limit  # noqa: F401 - importing it registers the SQLite DDL hook

_PREFIX = re.compile(r"^\s*SQLite\s+", re.IGNORECASE)


class DatabaseBackend(BaseBackend):
    vendor = "sqlite"
    display_name = "SQLite"
    family = "sqlite"
    generic = True
    default_version: ClassVar[VersionTuple] = tuple(sqlite3.sqlite_version_info)
    features_class = DatabaseFeatures
    driver_class = DatabaseDriver
    ops_class = DatabaseOperations
    errors_class = DatabaseErrors
    provisioning_class = DatabaseProvisioning

    @classmethod
    def parse_version(cls, version_string: str) -> VersionTuple | None:
        return parse_leading_version(_PREFIX.sub("", version_string))

    @classmethod
    def read_version_string(cls, driver_connection: Any) -> str:
        # pysqlite and aiosqlite both run the sqlite3 module's library.
        return f"SQLite {sqlite3.sqlite_version}"

    def dialect(self) -> Dialect:
        dialect = sa_pysqlite.dialect()
        dialect.server_version_info = self.server_version
        return dialect
