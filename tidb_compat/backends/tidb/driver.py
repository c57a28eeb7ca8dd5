"""TiDB drivers (PyMySQL, aiomysql) and a pool tuned for TiDB Cloud Serverless."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ..mysql.driver import DatabaseDriver as MySQLDriver


class DatabaseDriver(MySQLDriver):
    pool_defaults: ClassVar[Mapping[str, Any]] = {
        # Serverless closes idle connections: ping before use, recycle after 5 minutes.
        "pool_pre_ping": True,
        "pool_ping_after": 1.0,
        "pool_recycle": 300,
        # Small pools: Serverless bills and limits connections.
        "pool_size": 5,
        "max_overflow": 5,
        # Fail fast rather than queueing behind a stalled gateway.
        "pool_timeout": 10,
    }
