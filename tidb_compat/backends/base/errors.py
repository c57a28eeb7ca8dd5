"""Error classification: which driver errors mean "retry the transaction"."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import exc as sa_exc

if TYPE_CHECKING:
    from .base import DatabaseBackend

ErrorCode = int | str


def driver_error(exc: BaseException) -> BaseException:
    """The DBAPI exception behind a SQLAlchemy wrapper (or ``exc`` itself)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        return exc.orig
    return exc


class BaseErrorClassifier:
    """Classifies driver errors for :func:`tidb_compat.run_transaction` and reports."""

    retryable_codes: ClassVar[frozenset[ErrorCode]] = frozenset()
    """Codes after which the whole transaction can be run again (deadlock, write conflict)."""

    connection_lost_codes: ClassVar[frozenset[ErrorCode]] = frozenset()
    """Codes that mean the connection is gone."""

    def __init__(self, backend: DatabaseBackend) -> None:
        self.backend = backend

    def code(self, exc: BaseException) -> ErrorCode | None:
        """The server's error code, or ``None`` when the error carries none."""
        return None

    def is_retryable(self, exc: BaseException) -> bool:
        """True when rolling back and running the transaction again may succeed."""
        return self.code(exc) in self.retryable_codes

    def is_connection_lost(self, exc: BaseException) -> bool:
        """True when the connection itself is gone (the pool will replace it)."""
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return True
        return self.code(exc) in self.connection_lost_codes

    def describe(self, exc: BaseException) -> str:
        """One line for a person: the server's message and its code, no SQL or parameters."""
        orig = driver_error(exc)
        args: tuple[object, ...] = tuple(getattr(orig, "args", ()))
        if len(args) >= 2 and isinstance(args[0], int):
            message = f"{args[1]} (error {args[0]})"
        else:
            message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        return message
