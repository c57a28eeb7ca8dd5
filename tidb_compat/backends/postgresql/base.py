# tidb-compat: ignore-file[TC001] - the PostgreSQL backend itself
"""PostgreSQL backend wiring."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from sqlalchemy.dialects.postgresql import psycopg as sa_psycopg
from sqlalchemy.engine import Dialect

from ..base.base import DatabaseBackend as BaseBackend
from ..base.base import VersionTuple
from .driver import DatabaseDriver
from .errors import DatabaseErrors
from .features import DatabaseFeatures
from .operations import DatabaseOperations
from .provisioning import DatabaseProvisioning

# "PostgreSQL 15.20 (Debian ...)" from version(), or "15.20 (Debian ...)" / "16beta1" from
# the server_version parameter.
_PG = re.compile(r"^(?:PostgreSQL\s+)?(\d+)(?:\.(\d+))?(?:\.(\d+))?", re.IGNORECASE)


class DatabaseBackend(BaseBackend):
    vendor = "postgresql"
    display_name = "PostgreSQL"
    family = "postgresql"
    generic = True
    default_version: ClassVar[VersionTuple] = (15, 0)
    features_class = DatabaseFeatures
    driver_class = DatabaseDriver
    ops_class = DatabaseOperations
    errors_class = DatabaseErrors
    provisioning_class = DatabaseProvisioning

    @classmethod
    def parse_version(cls, version_string: str) -> VersionTuple | None:
        match = _PG.match(version_string.strip())
        if match is None:
            return None
        major, minor, patch = match.groups()
        parts = [int(major), int(minor or 0)]
        if patch is not None:  # 9.6.24 style
            parts.append(int(patch))
        return tuple(parts)

    @classmethod
    def read_version_string(cls, driver_connection: Any) -> str:
        # psycopg keeps the server_version startup parameter: no query needed.
        return str(driver_connection.info.parameter_status("server_version"))

    def dialect(self) -> Dialect:
        dialect = sa_psycopg.dialect()  # type: ignore[no-untyped-call]
        dialect.server_version_info = self.server_version
        return dialect
