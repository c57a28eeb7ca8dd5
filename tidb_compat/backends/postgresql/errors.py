"""PostgreSQL error classification by SQLSTATE."""

from __future__ import annotations

from ..base.errors import BaseErrorClassifier, ErrorCode, driver_error

SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"


class DatabaseErrors(BaseErrorClassifier):
    retryable_codes = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED})
    connection_lost_codes = frozenset({"57P01", "57P02", "57P03"})

    def code(self, exc: BaseException) -> ErrorCode | None:
        orig = driver_error(exc)
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        return str(sqlstate) if sqlstate else None

    def is_connection_lost(self, exc: BaseException) -> bool:
        code = self.code(exc)
        if isinstance(code, str) and code.startswith("08"):
            return True
        return super().is_connection_lost(exc)

    def describe(self, exc: BaseException) -> str:
        orig = driver_error(exc)
        text = " ".join(str(orig).split())
        code = self.code(exc)
        return f"{text} (SQLSTATE {code})" if code else text
