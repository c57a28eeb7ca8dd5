"""MySQL error classification (numeric error codes in ``exc.args[0]``)."""

from __future__ import annotations

from ..base.errors import BaseErrorClassifier, ErrorCode, driver_error

DEADLOCK = 1213
LOCK_WAIT_TIMEOUT = 1205
SERVER_SHUTDOWN = 1053
"""``Server shutdown in progress``: the server is stopping; the connection will not last."""
CANT_CONNECT = 2003
SERVER_GONE = 2006
LOST_CONNECTION = 2013
SERVER_LOST_EXTENDED = 2055
CLIENT_INTERACTION_TIMEOUT = 4031
"""MySQL 8.0.24+: the server closed an idle connection (``wait_timeout``)."""


class DatabaseErrors(BaseErrorClassifier):
    retryable_codes = frozenset({DEADLOCK, LOCK_WAIT_TIMEOUT})
    connection_lost_codes = frozenset(
        {SERVER_SHUTDOWN, CANT_CONNECT, SERVER_GONE, LOST_CONNECTION, SERVER_LOST_EXTENDED, CLIENT_INTERACTION_TIMEOUT}
    )

    def code(self, exc: BaseException) -> ErrorCode | None:
        args = getattr(driver_error(exc), "args", ())
        if args and isinstance(args[0], int):
            return args[0]
        return None
