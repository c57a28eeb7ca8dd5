"""MariaDB error classification."""

from __future__ import annotations

from ..mysql.errors import DatabaseErrors as MySQLErrors

RECORD_CHANGED = 1020
"""``Record has changed since last read``: a write conflict under
``innodb_snapshot_isolation`` (default ON from MariaDB 11.6)."""


CONNECTION_KILLED = 1927
"""``Connection was killed``: ``KILL CONNECTION`` from another session, or a shutdown."""


class DatabaseErrors(MySQLErrors):
    retryable_codes = MySQLErrors.retryable_codes | {RECORD_CHANGED}
    connection_lost_codes = MySQLErrors.connection_lost_codes | {CONNECTION_KILLED}
