"""MySQL session setup: UTC, strict SQL mode."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from ..base.operations import BaseOperations

STRICT_SQL_MODE = ",".join(
    (
        "STRICT_TRANS_TABLES",
        "STRICT_ALL_TABLES",
        "NO_ZERO_IN_DATE",
        "NO_ZERO_DATE",
        "ERROR_FOR_DIVISION_BY_ZERO",
        "NO_ENGINE_SUBSTITUTION",
        "ONLY_FULL_GROUP_BY",
    )
)
"""The SQL mode of every MySQL-family session: bad values are refused, not truncated or
zeroed, on TiDB, MySQL and MariaDB alike."""


class DatabaseOperations(BaseOperations):
    """One ``SET`` per new connection: UTC session time zone and strict SQL mode.

    The character set (utf8mb4) is a connect argument, sent by the driver in its own
    ``SET NAMES``.
    """

    session_setup_statements: ClassVar[Sequence[str]] = (
        f"SET SESSION time_zone = '+00:00', SESSION sql_mode = '{STRICT_SQL_MODE}'",
    )
    session_time_zone_query = "SELECT @@session.time_zone"
