"""Driver choice, pool defaults and connect arguments for one backend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ...settings import DatabaseSettings
    from ...tls import TLSConfig, TLSStatus
    from .base import DatabaseBackend


class BaseDriver:
    """Which DBAPI drivers a backend uses and how its connection pool is tuned.

    ``pool_defaults`` are keyword arguments for :func:`sqlalchemy.create_engine`; values
    set in :class:`~tidb_compat.DatabaseSettings` and keyword overrides given to
    :func:`tidb_compat.create_engine` win over them.
    """

    sync_driver: ClassVar[str] = ""
    """The SQLAlchemy driver name used by :func:`tidb_compat.create_engine`."""

    async_driver: ClassVar[str] = ""
    """The SQLAlchemy driver name used by :func:`tidb_compat.create_async_engine`."""

    async_drivers: ClassVar[frozenset[str]] = frozenset()
    """Driver names of this family that are asynchronous (a URL naming one of them still
    gives a synchronous engine on the sync path)."""

    pool_defaults: ClassVar[Mapping[str, Any]] = {
        "pool_pre_ping": True,
        "pool_ping_after": 1.0,
        "pool_size": 5,
        "max_overflow": 10,
        "pool_timeout": 30,
        "pool_recycle": 1800,
    }
    """Pool keyword arguments for ``create_engine``.  ``pool_ping_after`` is tidb_compat's own:
    with ``pool_pre_ping`` a connection is pinged at checkout only when it sat unused in the pool
    for longer than that many seconds (0: at every checkout, as SQLAlchemy does), so a
    connection used moments ago costs no extra round trip."""

    def __init__(self, backend: DatabaseBackend) -> None:
        self.backend = backend

    def connect_args(self, settings: DatabaseSettings, *, is_async: bool) -> dict[str, Any]:
        """DBAPI ``connect()`` keyword arguments derived from the settings (TLS excluded)."""
        return {}

    def tls_connect_args(self, tls: TLSConfig, *, is_async: bool) -> dict[str, Any]:
        """DBAPI ``connect()`` keyword arguments that make the driver do what ``tls`` says."""
        return {}

    def tls_status(self, dbapi_connection: Any, tls: TLSConfig) -> TLSStatus | None:
        """What a live DBAPI connection negotiated (``None``: the backend has no transport)."""
        return None

    def has_pending_input(self, dbapi_connection: Any) -> bool | None:
        """Whether the server sent something to an idle connection (an error before it closed
        it, or the close itself): such a connection is pinged before reuse.  Looked up
        without a round trip; ``None`` when the driver does not tell (then it is pinged)."""
        return None
