"""SQLite DDL: string lengths enforced like on the servers.

SQLite stores a string of any length in a ``VARCHAR(n)`` column, where TiDB, MySQL, MariaDB
(strict mode) and PostgreSQL refuse it.  Tables created through a tidb_compat engine give each
``String(n)`` column a check, ``CHECK (length(<column>) <= n)`` (``length`` counts characters
on SQLite, as the servers' limits do), and the backend's error module reports its violation as
a :class:`sqlalchemy.exc.DataError` naming the column, as the servers do.  The check is left
unnamed: SQLite reflects only named checks, so Alembic's batch mode (which rebuilds tables from
reflection) does not carry it over to a dropped column, and the rebuilt table gets its own.
DDL compiled by other engines is left alone.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn


def _ours(dialect: Any) -> bool:
    return getattr(dialect, "_tidb_compat_binding", None) is not None


def length_limit(column: Any) -> int | None:
    """The enforced length of a plain ``String(n)`` column (not of types stored as strings)."""
    type_ = column.type
    if isinstance(type_, sa.String) and not isinstance(type_, sa.Enum) and type_.length:
        return int(type_.length)
    return None


@compiles(CreateColumn, "sqlite")
def _create_column(element: CreateColumn, compiler: Any, **kw: Any) -> str:
    text: str = compiler.visit_create_column(element, **kw)
    column = element.element
    limit = length_limit(column)
    if text and limit is not None and _ours(compiler.dialect):
        name = compiler.preparer.format_column(column)
        text += f" CHECK (length({name}) <= {limit})"
    return text
