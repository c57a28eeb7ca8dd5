"""aiomysql connections that refuse a server without TLS before sending credentials.

aiomysql upgrades to TLS only when the server advertises ``CLIENT_SSL`` and otherwise
continues in plaintext, credentials included.  :func:`connect_requiring_tls` is passed to
SQLAlchemy's aiomysql adapter as ``async_creator_fn``; it builds the same connection as
``aiomysql.connect`` but looks at the server's capability flags first.
"""

from __future__ import annotations

from typing import Any

from aiomysql.connection import Connection
from pymysql.constants import CLIENT

from ...errors import InsecureTransportError


class TLSRequiredConnection(Connection):  # type: ignore[misc]
    """An aiomysql connection that requires ``CLIENT_SSL`` from the server."""

    async def _request_authentication(self) -> None:
        if not self.server_capabilities & CLIENT.SSL:
            raise InsecureTransportError(
                f"{self._host}:{self._port} does not offer TLS, and the ssl_mode requires it; "
                "no credentials were sent",
                "no_tls",
            )
        await super()._request_authentication()


async def connect_requiring_tls(**kwargs: Any) -> Connection:
    """``aiomysql.connect`` for a connection that must be encrypted."""
    connection = TLSRequiredConnection(**kwargs)
    await connection._connect()
    return connection
