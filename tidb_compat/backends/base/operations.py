"""Per-connection session setup and small SQL snippets that differ per backend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .base import DatabaseBackend


class BaseOperations:
    """Runs the same session setup on every new DBAPI connection.

    Every backend makes a new connection look the same: UTC session time zone, strict
    handling of bad values, utf8mb4 text, enforced foreign keys.  What can be passed as a
    connect argument (and so costs no round trip) is in the driver module; what needs SQL
    is listed in :attr:`session_setup_statements` and sent here.
    """

    session_setup_statements: ClassVar[Sequence[str]] = ()
    """Statements executed on each new connection, in order."""

    session_time_zone_query: ClassVar[str | None] = None
    """A query returning the session time zone as one value (``None``: not applicable)."""

    ping_query: ClassVar[str] = "SELECT 1"
    """The cheapest statement that makes a round trip."""

    def __init__(self, backend: DatabaseBackend) -> None:
        self.backend = backend

    def configure_dialect(self, dialect: Any) -> None:
        """Adjust the engine's SQLAlchemy dialect once the server is known (default: nothing).

        Called on every new connection, after SQLAlchemy initialised the dialect, so what is set
        here wins over what the dialect derived from the server."""

    def setup_statements(self) -> Sequence[str]:
        """The statements for a new connection (default: :attr:`session_setup_statements`;
        version-gated backends extend them)."""
        return self.session_setup_statements

    def setup_connection(self, dbapi_connection: Any) -> None:
        """Prepare a new DBAPI connection (sync or SQLAlchemy's async adaptation)."""
        statements = self.setup_statements()
        if not statements:
            self.check_connection(dbapi_connection)
            return
        cursor = dbapi_connection.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()
        self.check_connection(dbapi_connection)

    def check_connection(self, dbapi_connection: Any) -> None:
        """Refuse a connection that would break the library's guarantees (default: none)."""

    def session_time_zone(self, dbapi_connection: Any) -> str | None:
        """The session time zone as the server reports it."""
        if self.session_time_zone_query is None:
            return None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self.session_time_zone_query)
            row = cursor.fetchone()
        finally:
            cursor.close()
        return None if row is None else str(row[0])
