"""SQLite drivers: pysqlite (sync) and aiosqlite (async)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ..base.driver import BaseDriver

if TYPE_CHECKING:
    from ...settings import DatabaseSettings

BUSY_TIMEOUT_SECONDS = 30.0
"""How long a statement waits for another connection's write lock before "database is locked"."""


class DatabaseDriver(BaseDriver):
    sync_driver = "pysqlite"
    async_driver = "aiosqlite"
    async_drivers = frozenset({"aiosqlite"})
    pool_defaults: ClassVar[Mapping[str, Any]] = {}
    """SQLAlchemy's own choice (a queue pool for files, one connection for ``:memory:``)."""

    def connect_args(self, settings: DatabaseSettings, *, is_async: bool) -> dict[str, Any]:
        return {"timeout": BUSY_TIMEOUT_SECONDS}

    def has_pending_input(self, dbapi_connection: Any) -> bool | None:
        return False  # an embedded database: nothing can arrive on its own
