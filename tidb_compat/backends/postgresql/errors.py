"""PostgreSQL error classification by SQLSTATE."""

from __future__ import annotations

from ..base.errors import BaseErrorClassifier, ErrorCode, driver_error

SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
ADMIN_SHUTDOWN = "57P01"
"""``terminating connection due to administrator command`` (``pg_terminate_backend``, a
server shutdown)."""
CRASH_SHUTDOWN = "57P02"
CANNOT_CONNECT_NOW = "57P03"


class DatabaseErrors(BaseErrorClassifier):
    retryable_codes = frozenset({SERIALIZATION_FAILURE, DEADLOCK_DETECTED})
    connection_lost_codes = frozenset({ADMIN_SHUTDOWN, CRASH_SHUTDOWN, CANNOT_CONNECT_NOW})
    connection_lost_messages = (
        # libpq / psycopg messages for a connection that broke without a SQLSTATE
        "server closed the connection unexpectedly",
        "consuming input failed",
        "the connection is lost",
        "could not receive data from server",
        "could not send data to server",
        "connection is closed",
    )

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
