"""Autogenerate glue: portable types rendered as ``tidb_compat`` imports, and types compared
by what each backend really stores.

Alembic's autogenerate already emits a new column's foreign key and unique constraint as
operations of their own (``add_column`` then ``create_foreign_key`` /
``create_unique_constraint``), which is the form TiDB needs; hand-written migrations use
:mod:`tidb_compat.migrations.ops`.  :func:`process_revision_directives` removes index drops
that MySQL-family servers refuse before the table itself is dropped."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate.api import AutogenContext
from alembic.autogenerate.render import _repr_type
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.schema import DefaultClause

from ..types.array import PortableArray
from ..types.datetime import UTCDateTime, utcnow
from ..types.json import PortableJSON

__all__ = ["compare_type", "process_revision_directives", "render_item"]

_PORTABLE = (PortableJSON, PortableArray, UTCDateTime)


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render portable types and ``utcnow()`` as ``tidb_compat`` expressions, and reflected
    dialect-specific types in their generic form, so no ``postgresql.`` / ``mysql.`` type
    leaks into a migration script."""
    if type_ == "type":
        if isinstance(obj, PortableArray):
            autogen_context.imports.add("import tidb_compat")
            return f"tidb_compat.PortableArray({_repr_type(obj.item_type, autogen_context)})"
        if isinstance(obj, _PORTABLE):
            autogen_context.imports.add("import tidb_compat")
            return f"tidb_compat.{type(obj).__name__}()"
        if type(obj).__module__.startswith("sqlalchemy.dialects."):
            try:
                generic = obj.as_generic()
            except NotImplementedError:
                return False
            return _repr_type(generic, autogen_context)
    if type_ == "server_default" and isinstance(obj, DefaultClause) and isinstance(obj.arg, utcnow):
        autogen_context.imports.add("import tidb_compat")
        return "tidb_compat.utcnow()"
    return False


def _is_json_storage(reflected: Any, dialect_name: str, is_mariadb: bool) -> bool:
    if isinstance(reflected, (sa.JSON, postgresql.JSONB, postgresql.JSON)):
        return True
    if dialect_name == "mysql" and is_mariadb and isinstance(reflected, mysql.LONGTEXT):
        return True  # MariaDB's JSON is LONGTEXT with a json_valid() check
    return dialect_name == "sqlite" and isinstance(reflected, sa.Text)


def _matches(metadata_type: Any, reflected: Any, context: MigrationContext) -> bool:
    dialect = context.dialect
    name = dialect.name
    is_mariadb = bool(getattr(dialect, "is_mariadb", False))
    if isinstance(metadata_type, UTCDateTime):
        if name == "postgresql":
            return isinstance(reflected, sa.DateTime) and bool(getattr(reflected, "timezone", False))
        if name == "mysql":
            return isinstance(reflected, sa.DateTime) and getattr(reflected, "fsp", None) == 6
        if name == "sqlite":
            return isinstance(reflected, sa.String) and getattr(reflected, "length", None) == 26
        return isinstance(reflected, sa.DateTime)
    if isinstance(metadata_type, PortableArray) and name == "postgresql":
        if not isinstance(reflected, sa.ARRAY):
            return False
        expected_item = metadata_type.item_type.dialect_impl(dialect)
        return bool(reflected.item_type._compare_type_affinity(expected_item))
    return _is_json_storage(reflected, name, is_mariadb)


def compare_type(
    context: MigrationContext,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """Alembic ``compare_type`` hook: a portable type is unchanged when the reflected column
    has the storage the type chooses on that backend (JSON reflects as LONGTEXT on MariaDB,
    TEXT on SQLite).  Other types: Alembic's own comparison."""
    base = metadata_type
    if isinstance(base, sa.types.TypeDecorator) and not isinstance(base, _PORTABLE):
        return None
    if isinstance(base, _PORTABLE):
        return not _matches(base, inspected_type, context)
    return None


def _drop_redundant_index_drops(operations: ops.OpContainer) -> None:
    """Remove ``drop_index`` operations for tables the same script drops: dropping the table
    drops its indexes, and on MySQL-family servers an index that backs a foreign key cannot
    be dropped first (error 1553)."""
    dropped = {(op.schema, op.table_name) for op in operations.ops if isinstance(op, ops.DropTableOp)}
    kept: list[ops.MigrateOperation] = []
    for op in operations.ops:
        if isinstance(op, ops.ModifyTableOps) and (op.schema, op.table_name) in dropped:
            op.ops = [inner for inner in op.ops if not isinstance(inner, ops.DropIndexOp)]
            if not op.ops:
                continue
        if isinstance(op, ops.DropIndexOp) and (op.schema, op.table_name) in dropped:
            continue
        kept.append(op)
    operations.ops = kept


def process_revision_directives(context: Any, revision: Any, directives: list[Any]) -> None:
    """Alembic hook: tidy autogenerated scripts so they run on every backend."""
    for directive in directives:
        if isinstance(directive, ops.MigrationScript):
            for container in (*directive.upgrade_ops_list, *directive.downgrade_ops_list):
                _drop_redundant_index_drops(container)
