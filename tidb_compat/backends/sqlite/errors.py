"""SQLite error classification: a busy or locked database is retryable."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import exc as sa_exc

from ..base.errors import BaseErrorClassifier, ErrorCode, driver_error

_LENGTH_CHECK = re.compile(r"CHECK constraint failed: length\(\W?(\w+)\W?\) <= \d+")

SQLITE_BUSY = 5
SQLITE_LOCKED = 6


class DatabaseErrors(BaseErrorClassifier):
    retryable_codes = frozenset({SQLITE_BUSY, SQLITE_LOCKED})

    def code(self, exc: BaseException) -> ErrorCode | None:
        orig = driver_error(exc)
        code = getattr(orig, "sqlite_errorcode", None)
        if isinstance(code, int):
            return code & 0xFF  # primary result code without the extended bits
        if "database is locked" in str(orig):
            return SQLITE_BUSY
        return None

    def translate(self, exc: BaseException, statement: str | None, parameters: Any) -> BaseException | None:
        """The length check of a ``String(n)`` column fails as the servers fail: a DataError
        naming the column ("Data too long for column 'name'")."""
        orig = driver_error(exc)
        match = _LENGTH_CHECK.search(str(orig))
        if match is None:
            return None
        too_long = type(orig)(f"Data too long for column '{match.group(1)}' ({orig})")
        return sa_exc.DataError(statement, parameters, too_long, hide_parameters=True)
