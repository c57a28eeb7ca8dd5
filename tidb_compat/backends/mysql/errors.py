"""MySQL error classification (numeric error codes in ``exc.args[0]``)."""

from __future__ import annotations

from ..base.errors import BaseErrorClassifier, ErrorCode, driver_error

DEADLOCK = 1213
LOCK_WAIT_TIMEOUT = 1205
CANT_CONNECT = 2003
SERVER_GONE = 2006
LOST_CONNECTION = 2013
SERVER_LOST_EXTENDED = 2055


class DatabaseErrors(BaseErrorClassifier):
    retryable_codes = frozenset({DEADLOCK, LOCK_WAIT_TIMEOUT})
    connection_lost_codes = frozenset({SERVER_GONE, LOST_CONNECTION, SERVER_LOST_EXTENDED, CANT_CONNECT})

    def code(self, exc: BaseException) -> ErrorCode | None:
        args = getattr(driver_error(exc), "args", ())
        if args and isinstance(args[0], int):
            return args[0]
        return None
