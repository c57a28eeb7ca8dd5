"""Exceptions raised by tidb_compat.

Every error the library raises on its own derives from :class:`TidbCompatError`, so
``except tidb_compat.TidbCompatError`` catches all of them.  Errors raised by the
database driver pass through SQLAlchemy unchanged unless a tidb_compat feature
(for example TLS verification) gives them a clearer meaning.

No message produced here ever contains a password: settings are redacted before
they are formatted into a message.
"""

from __future__ import annotations

__all__ = [
    "BackendNotFoundError",
    "CommitOutcomeUnknown",
    "ConfigurationError",
    "ForeignKeysNotEnforcedError",
    "InsecureTransportError",
    "PortableValueError",
    "TidbCompatError",
    "UnsupportedServerError",
]


class TidbCompatError(Exception):
    """Base class of every error raised by tidb_compat itself."""


class ConfigurationError(TidbCompatError, ValueError):
    """A setting is missing, malformed or contradictory.

    ``setting`` names the offending setting as the user wrote it (an environment
    variable such as ``USER_SERVICE_DB_PORT``, a URL query key such as ``ssl_mode``,
    or a keyword argument), so the message can be acted on directly.
    """

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        self.detail = message
        super().__init__(f"{setting}: {message}")


class BackendNotFoundError(ConfigurationError):
    """No registered backend matches the requested vendor or the server's version string."""


class UnsupportedServerError(TidbCompatError):
    """The server answered, but it lacks something tidb_compat relies on."""


class ForeignKeysNotEnforcedError(UnsupportedServerError):
    """The server (TiDB) would accept foreign keys without enforcing them.

    Raised at connect time so that ``ON DELETE CASCADE`` and referential integrity can
    rely on the server on every backend.
    """


class InsecureTransportError(TidbCompatError):
    """TLS was required but the connection could not be secured as asked.

    Raised before any credentials are sent when the server does not offer TLS, and when
    certificate verification fails.  ``check`` says which check failed: ``no_tls``,
    ``unknown_ca``, ``hostname_mismatch``, ``expired`` or ``handshake``.
    """

    def __init__(self, message: str, check: str = "no_tls") -> None:
        self.check = check
        super().__init__(message)


class PortableValueError(TidbCompatError, ValueError):
    """A value a portable type refuses, identically on every backend, before any SQL is sent.

    ``column`` names the column (``table.column``) when the type knows it.  SQLAlchemy may
    wrap this error in :class:`sqlalchemy.exc.StatementError`; the original is its ``orig``.
    """

    def __init__(self, message: str, column: str | None = None) -> None:
        self.column = column
        self.detail = message
        super().__init__(f"column {column}: {message}" if column else message)


class CommitOutcomeUnknown(TidbCompatError):
    """The connection was lost while COMMIT was in flight: the transaction may or may not
    have been committed.

    Raised by :func:`tidb_compat.retry.run_transaction` (and its async twin) instead of the
    driver error, which is chained as ``__cause__``.  It is never retried: running the
    transaction again could apply it twice.  Decide from the data (an idempotency key, a
    version column) whether the work is done.  ``attempt`` is the attempt (1-based) whose
    COMMIT was lost.
    """

    def __init__(self, message: str, *, attempt: int = 1) -> None:
        self.attempt = attempt
        super().__init__(message)
