"""SQLite session setup: foreign keys ON, checked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ...errors import ForeignKeysNotEnforcedError
from ..base.operations import BaseOperations


class DatabaseOperations(BaseOperations):
    session_setup_statements: ClassVar[Sequence[str]] = ("PRAGMA foreign_keys = ON",)

    def check_connection(self, dbapi_connection: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys")
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None or int(row[0]) != 1:
            raise ForeignKeysNotEnforcedError(
                "SQLite ignored PRAGMA foreign_keys = ON (a transaction was open when the "
                "connection was set up); foreign keys would not be enforced"
            )
