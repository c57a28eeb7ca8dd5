"""SQLite error classification: a busy or locked database is retryable."""

from __future__ import annotations

from ..base.errors import BaseErrorClassifier, ErrorCode, driver_error

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
