"""Error classification: which driver errors mean "retry the transaction"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from sqlalchemy import exc as sa_exc

if TYPE_CHECKING:
    from .base import DatabaseBackend

ErrorCode = int | str

TransactionOutcome = Literal["retry", "unknown", "fail"]
"""What :func:`tidb_compat.retry.run_transaction` does with an error: run the transaction
again, report that the commit outcome is unknown, or let the error through."""


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

    connection_lost_messages: ClassVar[tuple[str, ...]] = ()
    """Lower-case message fragments that mean the connection is gone, for driver errors
    that carry no code (checked when SQLAlchemy did not already flag a disconnect)."""

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
        if self.code(exc) in self.connection_lost_codes:
            return True
        if self.connection_lost_messages:
            text = str(driver_error(exc)).lower()
            return any(fragment in text for fragment in self.connection_lost_messages)
        return False

    def transaction_outcome(self, exc: BaseException, *, during_commit: bool) -> TransactionOutcome:
        """What to do with ``exc`` raised inside a transaction.

        ``retry``: the server aborted the transaction (deadlock, write conflict, busy), or the
        connection was lost before COMMIT was sent: nothing was committed, run it again.
        ``unknown``: the connection was lost while COMMIT was in flight: it may or may not
        have been committed.  ``fail``: anything else (constraint violations, bad SQL, errors
        of the caller's own code): not retried.  A retryable error reported in answer to
        COMMIT is still ``retry``: the server answered, and it rolled back.
        """
        if self.is_retryable(exc):
            return "retry"
        if self.is_connection_lost(exc):
            return "unknown" if during_commit else "retry"
        return "fail"

    def describe(self, exc: BaseException) -> str:
        """One line for a person: the server's message and its code, no SQL or parameters."""
        orig = driver_error(exc)
        args: tuple[object, ...] = tuple(getattr(orig, "args", ()))
        if len(args) >= 2 and isinstance(args[0], int):
            message = f"{args[1]} (error {args[0]})"
        else:
            message = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        return message

    def translate(self, exc: BaseException, statement: str | None, parameters: Any) -> BaseException | None:
        """A clearer exception to raise instead of ``exc`` (SQLAlchemy's ``handle_error``), or
        ``None`` to keep it.  Default: keep it."""
        return None
