"""TiDB error classification: write conflicts and region/store trouble are retryable."""

from __future__ import annotations

from ..mysql.errors import DatabaseErrors as MySQLErrors

TIDB_RETRYABLE = frozenset(
    {
        8002,  # write conflict (optimistic transaction)
        8005,  # write conflict (legacy)
        8022,  # transaction retry failed
        8028,  # schema changed during the transaction
        9007,  # write conflict
        9001,  # PD server timeout
        9002,  # TiKV server timeout
        9003,  # TiKV server busy
        9005,  # region unavailable
    }
)


class DatabaseErrors(MySQLErrors):
    retryable_codes = MySQLErrors.retryable_codes | TIDB_RETRYABLE
