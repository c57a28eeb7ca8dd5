"""MySQL backend wiring."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy.dialects.mysql import pymysql as sa_pymysql
from sqlalchemy.engine import Dialect

from ..base.base import DatabaseBackend as BaseBackend
from ..base.base import VersionTuple, parse_leading_version
from .driver import DatabaseDriver
from .errors import DatabaseErrors
from .features import DatabaseFeatures
from .operations import DatabaseOperations
from .provisioning import DatabaseProvisioning


class DatabaseBackend(BaseBackend):
    vendor = "mysql"
    display_name = "MySQL"
    family = "mysql"
    generic = True
    default_version: ClassVar[VersionTuple] = (8, 0, 36)
    features_class = DatabaseFeatures
    driver_class = DatabaseDriver
    ops_class = DatabaseOperations
    errors_class = DatabaseErrors
    provisioning_class = DatabaseProvisioning

    @classmethod
    def parse_version(cls, version_string: str) -> VersionTuple | None:
        return parse_leading_version(version_string)

    @classmethod
    def read_version_string(cls, driver_connection: Any) -> str:
        # PyMySQL and aiomysql keep the version string of the handshake: no query needed.
        return str(driver_connection.get_server_info())

    def dialect(self) -> Dialect:
        dialect = sa_pymysql.dialect()
        dialect.server_version_info = self.server_version
        return dialect
