"""Pluggable backends: one package per server family behind one contract.

``identify(version_string)`` tells which server answered; ``get_backend(engine)`` gives
the backend object of an engine (``.vendor``, ``.server_version``, ``.features``).
Third parties add backends through the ``tidb_compat.backends`` entry-point group.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session

from ..errors import TidbCompatError
from .base.base import DatabaseBackend, VersionTuple
from .binding import EngineBinding, binding_for
from .registry import ENTRY_POINT_GROUP, BackendRegistry, identify, load_backend, registry
from .tidb.base import TIDB_CLOUD_VERSION

__all__ = [
    "ENTRY_POINT_GROUP",
    "TIDB_CLOUD_VERSION",
    "BackendRegistry",
    "DatabaseBackend",
    "EngineBinding",
    "VersionTuple",
    "get_backend",
    "get_backend_async",
    "identify",
    "load_backend",
    "registry",
]


def get_backend(bind: Engine | Connection | AsyncEngine | AsyncConnection | Session) -> DatabaseBackend:
    """The backend of an engine, connection or session.

    The server is probed once per engine (from the driver's handshake data, without a
    query) and cached.  An engine created with an explicit ``backend=`` answers without
    connecting until its first connection is made.  An async engine that has never
    connected must use :func:`get_backend_async`.
    """
    if isinstance(bind, Session):
        return get_backend(bind.get_bind())
    if isinstance(bind, AsyncConnection):
        return get_backend(bind.sync_connection) if bind.sync_connection else _unprobed(bind.sync_engine)
    if isinstance(bind, AsyncEngine):
        return _unprobed(bind.sync_engine)
    if isinstance(bind, Connection):
        return binding_for(bind.dialect).resolve(bind.connection.dbapi_connection)
    binding = binding_for(bind.dialect)
    if binding.backend is not None and (binding.backend.probed or binding.expected is not None):
        return binding.backend
    with bind.connect() as connection:
        return binding.resolve(connection.connection.dbapi_connection)


def _unprobed(engine: Engine) -> DatabaseBackend:
    binding = binding_for(engine.dialect)
    if binding.backend is not None:
        return binding.backend
    raise TidbCompatError(
        "this async engine has not connected yet: use `await tidb_compat.get_backend_async(engine)`"
    )


async def get_backend_async(bind: AsyncEngine | AsyncConnection) -> DatabaseBackend:
    """:func:`get_backend` for async engines: connects once if no probe was made yet."""
    if isinstance(bind, AsyncConnection):
        return await bind.run_sync(get_backend)
    binding = binding_for(bind.sync_engine.dialect)
    if binding.backend is not None and (binding.backend.probed or binding.expected is not None):
        return binding.backend
    async with bind.connect() as connection:
        result: Any = await connection.run_sync(get_backend)
        return result  # type: ignore[no-any-return]
