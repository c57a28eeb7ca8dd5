"""PostgreSQL driver: psycopg 3 (one driver for sync and async)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from ...tls import TLSStatus
from .._sockets import readable
from ..base.driver import BaseDriver

if TYPE_CHECKING:
    from ...settings import DatabaseSettings
    from ...tls import TLSConfig

LIBPQ_SSLMODE: Final = {
    "disabled": "disable",
    "preferred": "prefer",
    "required": "require",
    "verify_ca": "verify-ca",
    "verify_identity": "verify-full",
}
"""``ssl_mode`` -> libpq ``sslmode``: the same meaning under libpq's names."""


class DatabaseDriver(BaseDriver):
    """psycopg 3; the session time zone is sent as a startup option (no round trip)."""

    sync_driver = "psycopg"
    async_driver = "psycopg"
    async_drivers = frozenset({"asyncpg", "psycopg_async"})

    def connect_args(self, settings: DatabaseSettings, *, is_async: bool) -> dict[str, Any]:
        return {"options": "-c timezone=UTC", "connect_timeout": settings.connect_timeout}

    def tls_connect_args(self, tls: TLSConfig, *, is_async: bool) -> dict[str, Any]:
        args: dict[str, Any] = {"sslmode": LIBPQ_SSLMODE[tls.mode]}
        if tls.enabled:
            args["ssl_min_protocol_version"] = "TLSv1.2"
        if tls.verify_chain:
            args["sslrootcert"] = tls.ca_file
        return args

    def tls_status(self, dbapi_connection: Any, tls: TLSConfig) -> TLSStatus | None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT ssl, version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            row = cursor.fetchone()
        finally:
            cursor.close()
        if row is None or not row[0]:
            return TLSStatus(None, None, False, False)
        return TLSStatus(row[1], row[2], tls.verify_chain, tls.verify_hostname)

    def has_pending_input(self, dbapi_connection: Any) -> bool | None:
        driver_connection = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        pgconn = getattr(driver_connection, "pgconn", None)
        if pgconn is None:
            return None
        try:
            fd = pgconn.socket
        except Exception:  # closed or broken
            return True
        return readable(fd)
