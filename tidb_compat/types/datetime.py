"""``UTCDateTime``: timezone-aware instants, stored in UTC with microseconds, everywhere.

============ ================================== =============================================
backend      storage                            notes
============ ================================== =============================================
TiDB, MySQL, ``DATETIME(6)`` holding UTC           the session time zone is UTC (engine setup)
MariaDB
PostgreSQL   ``TIMESTAMP(6) WITH TIME ZONE``
SQLite       ``VARCHAR(26)``                    ``YYYY-MM-DD HH:MM:SS.ffffff``, fixed width,
                                                so ORDER BY and comparisons are chronological
============ ================================== =============================================

Accepted: timezone-aware :class:`datetime.datetime` whose UTC instant lies in years
1000-9999 (the MySQL-family ``DATETIME`` range, applied everywhere).  Refused with
:class:`tidb_compat.PortableValueError` naming the column: naive datetimes, dates, strings,
anything else, and instants out of range.  Returned: aware datetimes in UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from sqlalchemy import String, types
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ._base import PortableTypeMixin

__all__ = ["MAX_YEAR", "MIN_YEAR", "UTCDateTime", "utcnow"]

UTC: Final = dt.UTC
MIN_YEAR: Final = 1000
"""The earliest year accepted (MySQL-family ``DATETIME`` starts at 1000-01-01)."""
MAX_YEAR: Final = 9999
"""The latest year accepted."""

_SQLITE_FORMAT: Final = "%Y-%m-%d %H:%M:%S.%f"
_SQLITE_WIDTH: Final = 26


class UTCDateTime(PortableTypeMixin, types.TypeDecorator[dt.datetime]):
    """An aware ``datetime`` stored as a UTC instant with microseconds (see module docs)."""

    impl = types.DateTime
    cache_ok = True

    @property
    def python_type(self) -> type[dt.datetime]:
        return dt.datetime

    def load_dialect_impl(self, dialect: Dialect) -> types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True, precision=6))
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(_SQLITE_WIDTH))
        return dialect.type_descriptor(types.DateTime(timezone=True))

    def coerce_compared_value(self, op: Any, value: Any) -> types.TypeEngine[Any]:
        return self

    def _to_utc(self, value: Any) -> dt.datetime:
        if not isinstance(value, dt.datetime):
            self.refuse(f"expected a timezone-aware datetime, got {type(value).__name__} {value!r}")
        offset = value.utcoffset()
        if offset is None:
            self.refuse(
                f"naive datetime {value.isoformat()} has no time zone; "
                "pass an aware value such as datetime.now(timezone.utc)"
            )
        if value.tzinfo is UTC:
            instant = value
        else:
            try:
                instant = value.astimezone(UTC)
            except OverflowError:
                self.refuse(f"{value.isoformat()} is outside years {MIN_YEAR}-{MAX_YEAR} in UTC")
        if not MIN_YEAR <= instant.year <= MAX_YEAR:
            self.refuse(f"{value.isoformat()} is outside years {MIN_YEAR}-{MAX_YEAR} in UTC")
        return instant

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        instant = self._to_utc(value)
        if dialect.name == "postgresql":
            return instant
        if dialect.name == "sqlite":
            return instant.strftime(_SQLITE_FORMAT)  # years 1000-9999: always 26 characters
        return instant.replace(tzinfo=None)

    def process_literal_param(self, value: Any, dialect: Dialect) -> Any:
        # The storage type's literal processor renders what this returns (offline SQL).
        return self.process_bind_param(value, dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """One small function per backend (the drivers return what the storage holds)."""
        if dialect.name == "mysql":  # naive DATETIME(6) holding UTC

            def from_mysql(value: Any) -> dt.datetime | None:
                if isinstance(value, dt.datetime):
                    return value.replace(tzinfo=UTC)
                return self.process_result_value(value, dialect)

            return from_mysql
        if dialect.name == "postgresql":  # aware, in the session time zone (UTC)

            def from_postgresql(value: Any) -> dt.datetime | None:
                if isinstance(value, dt.datetime) and value.tzinfo is UTC:
                    return value
                return self.process_result_value(value, dialect)

            return from_postgresql
        if dialect.name == "sqlite":  # the fixed-width text

            def from_sqlite(value: Any) -> dt.datetime | None:
                if isinstance(value, str):
                    return dt.datetime.fromisoformat(value).replace(tzinfo=UTC)
                return self.process_result_value(value, dialect)

            return from_sqlite
        return super().result_processor(dialect, coltype)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if not isinstance(value, dt.datetime):  # pragma: no cover - drivers return datetimes
            raise TypeError(f"unexpected {type(value).__name__} from the database")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class utcnow(FunctionElement[dt.datetime]):
    """The current UTC time at the best resolution each backend has, for ``server_default=``
    (or any expression).

    ========== =============================================== ============
    backend    SQL                                             resolution
    ========== =============================================== ============
    MySQL-fam. ``CURRENT_TIMESTAMP(6)`` (session time zone,    microseconds
               which the engine sets to UTC)
    PostgreSQL ``CURRENT_TIMESTAMP``                           microseconds
    SQLite     ``strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'`` milliseconds
    ========== =============================================== ============

    ``CURRENT_TIMESTAMP`` is the start of the transaction on PostgreSQL and of the statement
    on MySQL-family servers.
    """

    type = UTCDateTime()
    inherit_cache = True


@compiles(utcnow)
def _utcnow_default(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP"


@compiles(utcnow, "mysql")
def _utcnow_mysql(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP(6)"


@compiles(utcnow, "sqlite")
def _utcnow_sqlite(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000')"
