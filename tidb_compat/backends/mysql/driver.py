"""MySQL-protocol drivers: PyMySQL (sync) and aiomysql (async), with TLS that means the same."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ...tls import TLSStatus
from .._sockets import asyncio_pending, readable
from ..base.driver import BaseDriver

if TYPE_CHECKING:
    from ...settings import DatabaseSettings
    from ...tls import TLSConfig


class DatabaseDriver(BaseDriver):
    """PyMySQL and aiomysql, utf8mb4, a bounded connect timeout.

    TLS per ``ssl_mode``: PyMySQL is given an ``SSLContext`` (it then refuses a server
    without TLS before authenticating); aiomysql, which would silently continue in
    plaintext, connects through :func:`tidb_compat.backends.mysql.aio.connect_requiring_tls`,
    which checks the server's capability flags before any credentials are sent.
    """

    sync_driver = "pymysql"
    async_driver = "aiomysql"
    async_drivers = frozenset({"aiomysql", "asyncmy"})
    pool_defaults: ClassVar[Mapping[str, Any]] = {
        "pool_pre_ping": True,
        "pool_ping_after": 1.0,
        "pool_size": 5,
        "max_overflow": 10,
        "pool_timeout": 30,
        # Below the server's default wait_timeout (8 h) and typical proxy idle limits.
        "pool_recycle": 1800,
    }

    def connect_args(self, settings: DatabaseSettings, *, is_async: bool) -> dict[str, Any]:
        return {"charset": "utf8mb4", "connect_timeout": settings.connect_timeout}

    def tls_connect_args(self, tls: TLSConfig, *, is_async: bool) -> dict[str, Any]:
        if is_async:
            if not tls.enabled:
                return {}
            args: dict[str, Any] = {"ssl": tls.ssl_context()}
            if tls.required:
                from .aio import connect_requiring_tls

                args["async_creator_fn"] = connect_requiring_tls
            return args
        if not tls.enabled:
            return {"ssl_disabled": True}
        if tls.required:
            return {"ssl": tls.ssl_context()}
        return {}  # PyMySQL's own PREFERRED mode: TLS if offered, plaintext otherwise

    def tls_status(self, dbapi_connection: Any, tls: TLSConfig) -> TLSStatus | None:
        driver_connection = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        ssl_object: Any = None
        sock = getattr(driver_connection, "_sock", None)  # PyMySQL
        if isinstance(sock, ssl.SSLSocket):
            ssl_object = sock
        writer = getattr(driver_connection, "_writer", None)  # aiomysql
        if writer is not None:
            ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is None:
            return TLSStatus(None, None, False, False)
        cipher = ssl_object.cipher()
        return TLSStatus(ssl_object.version(), cipher[0] if cipher else None, tls.verify_chain, tls.verify_hostname)

    def has_pending_input(self, dbapi_connection: Any) -> bool | None:
        driver_connection = getattr(dbapi_connection, "driver_connection", dbapi_connection)
        if hasattr(driver_connection, "_reader") and hasattr(driver_connection, "_writer"):  # aiomysql
            return asyncio_pending(driver_connection._reader, driver_connection._writer)
        sock = getattr(driver_connection, "_sock", None)  # PyMySQL
        if sock is None:
            return True  # closed
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        return readable(sock)
