"""The audit rules: one class per rule ID, each with its ``id``, ``title`` and ``hint``.

A rule looks at what the runner hands it and answers with hits; the runner adds the path,
applies ``# tidb-compat: ignore[...]`` comments and reports.  Hooks (all optional):

``check_node(node, ctx)``
    every AST node of a Python module that is not in PostgreSQL-only code and not part of a
    type annotation (see :class:`SourceContext`).
``check_column(spec, ctx)``
    every column declared in a module: ``Column(...)``, ``mapped_column(...)``, a bare
    ``Mapped[...]`` annotation and each value of a ``type_annotation_map``.
``check_sql(sql)``
    the text of every SQL string: arguments of ``text()``, ``DDL()``, ``literal_column()``,
    ``CheckConstraint()``, ``Computed()``, ``.execute()``, ``.exec_driver_sql()``, string
    ``server_default=`` values, any other string that reads like a SQL statement, and in
    ``--metadata`` mode the SQL text of defaults, checks and index expressions.
``check_function(name)``
    the name of every SQL function called from Python (``func.now()``) and of every function
    used as a default in ``--metadata`` mode.
``check_requirement(requirement)``
    every dependency of ``requirements*.txt``, ``pyproject.toml``, ``setup.cfg``, ``setup.py``.
``check_table(table, target)``
    every table of a ``--metadata`` MetaData, with the TiDB dialect to compile against.

"PostgreSQL-only code" is code that cannot run elsewhere: the body of
``if dialect.name == "postgresql":`` (also ``!=`` with an early return, ``in (...)``,
``.startswith("postgres")``, ``match``/``case``), the first argument of
``.with_variant(X, "postgresql")``, functions decorated ``@compiles(X, "postgresql")`` and
functions whose name says ``postgresql``/``pg`` (``postgresql_array_type``).  That is how
portable code (``tidb_compat.PortableJSON`` and friends) reaches PostgreSQL features without
findings.
"""

# The rule tables name PostgreSQL types, options and SQL on purpose:
# tidb-compat: ignore-file

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from sqlalchemy import types as satypes
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

__all__ = [
    "RULES",
    "ColumnSpec",
    "Finding",
    "Hit",
    "MetaHit",
    "Requirement",
    "Rule",
    "SourceContext",
    "SqlHit",
    "TypeSpec",
    "is_type_test_argument",
    "rule_by_id",
    "rule_table",
]

MAX_KEY_BYTES = 3072
"""TiDB's (and MySQL 8's) limit on the bytes of one index key (``max-index-length``)."""
BYTES_PER_CHAR = 4
"""utf8mb4: a ``VARCHAR(n)`` key part takes up to ``4 * n`` bytes."""


# -- what rules return ---------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Finding:
    """One reported problem.  Sorted by path, line, rule and message."""

    path: str
    line: int
    rule: str
    message: str
    hint: str

    def as_dict(self) -> dict[str, str | int]:
        return {"rule": self.rule, "path": self.path, "line": self.line, "message": self.message, "hint": self.hint}


@dataclass(frozen=True)
class Hit:
    """A problem at ``line`` of the file being audited; ``hint`` overrides the rule's hint."""

    line: int
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class SqlHit:
    """A problem in a SQL string: ``start:end`` is the offending text in the string."""

    start: int
    end: int
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class MetaHit:
    """A problem in a ``--metadata`` table: ``location`` is ``table`` or ``table.column``."""

    location: str
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Requirement:
    """A dependency as written (``psycopg2-binary>=2.9``) and its normalised name."""

    line: int
    text: str
    name: str
    extras: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TypeSpec:
    """A column type as written in source, resolved as far as the audit can.

    ``cls`` is the SQLAlchemy type class (``None`` when it cannot be resolved statically);
    ``storage`` is the class that decides how it is stored (``impl`` of a TypeDecorator).
    ``length`` is ``None`` when no length was given; ``length_known`` is false when one was
    given but is not a literal (then nothing is said about it).
    """

    cls: type[Any] | None
    storage: type[Any] | None
    text: str
    called: bool = False
    length: int | None = None
    length_known: bool = True
    timezone: bool = False
    inferred: bool = False


@dataclass(frozen=True)
class ColumnSpec:
    """A column declared in source: where, its type and the keys it is part of."""

    line: int
    origin: str  # "Column", "mapped_column", "Mapped", "type_annotation_map"
    type: TypeSpec
    keys: tuple[str, ...] = ()
    name: str | None = None


class SourceContext(Protocol):
    """What a rule can ask about the Python module being audited."""

    path: str

    def resolve(self, node: ast.AST) -> object | None:
        """The SQLAlchemy / tidb_compat object a name or attribute refers to, else ``None``."""
        ...

    def qualname(self, node: ast.AST) -> str | None:
        """The dotted import path a name or attribute refers to (``psycopg2.extras``)."""
        ...

    def parent(self, node: ast.AST) -> ast.AST | None: ...

    def binding_uses(self, name: str) -> Sequence[tuple[ast.AST, bool]]:
        """Uses of a module-level name: (outermost attribute chain, runs outside PostgreSQL-only
        code and outside annotations)."""
        ...

    def sql_function_name(self, call: ast.Call) -> str | None:
        """``now`` for ``func.now()``, ``sqlalchemy.sql.functions.now()``, ``postgresql.array_agg()``."""
        ...


# -- the rules -------------------------------------------------------------------------------------


class Rule:
    """Base class: a rule has a stable ``id``, a one-line ``title`` and a fix ``hint``."""

    id: ClassVar[str]
    title: ClassVar[str]
    hint: ClassVar[str]

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        return iter(())

    def check_column(self, spec: ColumnSpec, ctx: SourceContext) -> Iterator[Hit]:
        return iter(())

    def check_sql(self, sql: str) -> Iterator[SqlHit]:
        return iter(())

    def check_function(self, name: str) -> str | None:
        """A message when calling SQL function ``name`` (lower case) is a problem."""
        return None

    def check_requirement(self, requirement: Requirement) -> Iterator[Hit]:
        return iter(())

    def check_table(self, table: sa.Table, target: Dialect) -> Iterator[MetaHit]:
        return iter(())


def _sql_hits(patterns: Sequence[tuple[re.Pattern[str], str]], sql: str) -> Iterator[SqlHit]:
    for pattern, message in patterns:
        for match in pattern.finditer(sql):
            yield SqlHit(match.start(), match.end(), message.format(match=" ".join(match.group(0).split())))


def is_type_test_argument(node: ast.AST, parent_of: Callable[[ast.AST], ast.AST | None]) -> bool:
    """True when ``node`` is (inside the tuple of) the class argument of ``isinstance`` /
    ``issubclass``: a test against a class is not a use of it."""
    parent = parent_of(node)
    while isinstance(parent, (ast.Tuple, ast.List, ast.Set)):
        node, parent = parent, parent_of(parent)
    return (
        isinstance(parent, ast.Call)
        and isinstance(parent.func, ast.Name)
        and parent.func.id in {"isinstance", "issubclass"}
        and any(arg is node for arg in parent.args[1:])
    )


def _is_outermost_reference(node: ast.AST, ctx: SourceContext) -> bool:
    """A Name/Attribute that is not the ``value`` of a longer attribute chain, and not the
    class tested by ``isinstance``/``issubclass``."""
    if not isinstance(node, (ast.Name, ast.Attribute)) or not isinstance(node.ctx, ast.Load):
        return False
    parent = ctx.parent(node)
    if isinstance(parent, ast.Attribute) and parent.value is node:
        return False
    return not is_type_test_argument(node, ctx.parent)


PG_DIALECT = "sqlalchemy.dialects.postgresql"
PG_DRIVERS = ("psycopg2", "psycopg", "psycopg_pool", "asyncpg", "aiopg", "pg8000", "psycopg2cffi")


def _import_targets(node: ast.Import | ast.ImportFrom) -> Iterator[tuple[str, str, bool]]:
    """(bound name, imported dotted path, whether the name is only the path's first part) for
    each name an import binds: ``import a.b`` binds ``a``; ``import a.b as x`` binds ``x``."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                yield alias.asname, alias.name, False
            else:
                yield alias.name.split(".")[0], alias.name, "." in alias.name
        return
    if node.level or node.module is None:
        return
    for alias in node.names:
        if alias.name != "*":
            yield (alias.asname or alias.name), f"{node.module}.{alias.name}", False


def _imports_matching(node: ast.AST, ctx: SourceContext, prefixes: Sequence[str]) -> Iterator[str]:
    """Imported paths under one of ``prefixes`` that are used outside PostgreSQL-only code (or
    not used at all: an import alone still loads the module)."""

    def under(path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + ".") for prefix in prefixes)

    if not isinstance(node, (ast.Import, ast.ImportFrom)):
        return
    if (
        isinstance(node, ast.ImportFrom)
        and node.level == 0
        and node.module is not None
        and under(node.module)
        and any(alias.name == "*" for alias in node.names)
    ):
        yield f"{node.module}.*"
        return
    for bound, path, root_only in _import_targets(node):
        if not under(path):
            continue
        uses = list(ctx.binding_uses(bound))
        if root_only:  # ``import a.b.c`` binds ``a``: judge the uses that reach into ``a.b.c``
            uses = [(use, runtime) for use, runtime in uses if under(ctx.qualname(use) or "")]
        if not uses or any(runtime for _, runtime in uses):
            yield path


def _join_paths(paths: Sequence[str]) -> str:
    """``a.b.X, a.b.Y`` -> ``X, Y from a.b`` when they share a module."""
    modules = {path.rpartition(".")[0] for path in paths}
    if len(paths) > 1 and len(modules) == 1:
        return f"{', '.join(path.rpartition('.')[2] for path in paths)} from {modules.pop()}"
    return ", ".join(paths)


class PostgresDialectImport(Rule):
    """TC001: ``sqlalchemy.dialects.postgresql`` imported by code that also runs on TiDB.

    Any form: ``import sqlalchemy.dialects.postgresql``, ``from sqlalchemy.dialects import
    postgresql``, ``from sqlalchemy.dialects.postgresql import JSONB``.  An import whose every
    use is in PostgreSQL-only code (or in annotations) is not reported.
    """

    id = "TC001"
    title = "PostgreSQL dialect import"
    hint = (
        "use portable types and constructs: tidb_compat.PortableJSON, tidb_compat.PortableArray, "
        "tidb_compat.UTCDateTime, sqlalchemy.Uuid; keep PostgreSQL-only code behind "
        "`if dialect.name == \"postgresql\":` or .with_variant(..., \"postgresql\")"
    )

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        paths = list(_imports_matching(node, ctx, (PG_DIALECT,)))
        if paths and isinstance(node, ast.stmt):
            yield Hit(node.lineno, f"imports {_join_paths(paths)}")


class PostgresDriverImport(Rule):
    """TC002: a PostgreSQL driver (psycopg2, psycopg, asyncpg, ...) imported by application code.

    Driver APIs (``psycopg2.extras.execute_values``, ``copy_expert``, ``asyncpg`` pools,
    ``psycopg.sql``) have no TiDB counterpart; the engine's driver is chosen by tidb_compat.
    """

    id = "TC002"
    title = "PostgreSQL driver import"
    hint = (
        "go through SQLAlchemy: tidb_compat.create_engine()/create_async_engine() pick PyMySQL/aiomysql "
        "on TiDB and psycopg on PostgreSQL; replace driver APIs (execute_values, COPY, LISTEN) with "
        "Connection.execute(insert(...), [rows])"
    )

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        paths = list(_imports_matching(node, ctx, PG_DRIVERS))
        if paths and isinstance(node, ast.stmt):
            yield Hit(node.lineno, f"imports the PostgreSQL driver {_join_paths(paths)}")


def _pg(name: str) -> Any:
    return getattr(postgresql, name)


_RANGE_HINT = "use two columns (lower, upper) with a CheckConstraint(lower <= upper)"
_SEARCH_HINT = "TiDB has no equivalent: use a FULLTEXT index (TiDB Cloud) or an external search index"
_PG_TYPE_HINTS: dict[str, str] = {
    "JSONB": "use tidb_compat.PortableJSON (JSONB on PostgreSQL, JSON on TiDB)",
    "JSONPATH": "use a String column, evaluated in the application",
    "ARRAY": "use tidb_compat.PortableArray(item_type) (ARRAY on PostgreSQL, a JSON array on TiDB)",
    "HSTORE": "use tidb_compat.PortableJSON holding a dict of strings",
    "INET": "use String(45) (IPv6 text form), validated with the ipaddress module",
    "CIDR": "use String(49), validated with ipaddress.ip_network",
    "MACADDR": "use String(17)",
    "MACADDR8": "use String(23)",
    "CITEXT": "use String(n) with a case-insensitive collation (TiDB's default utf8mb4_bin is case-sensitive)",
    "TSVECTOR": _SEARCH_HINT,
    "TSQUERY": _SEARCH_HINT,
    "REGCONFIG": "use a String column naming the configuration",
    "UUID": "use sqlalchemy.Uuid (native UUID on PostgreSQL, CHAR(32) on TiDB)",
    "INTERVAL": "use sqlalchemy.Interval or an Integer number of seconds",
    "BYTEA": "use sqlalchemy.LargeBinary",
    "MONEY": "use sqlalchemy.Numeric(19, 4)",
    "BIT": "use sqlalchemy.Boolean or Integer",
    "ENUM": "use sqlalchemy.Enum(..., name=...) (a native ENUM on TiDB, a named type on PostgreSQL)",
    "DOMAIN": "use the base type plus a CheckConstraint",
    "OID": "use an Integer/BigInteger column",
    "REGCLASS": "use a String column holding the table name",
}
for _range in ("INT4RANGE", "INT8RANGE", "NUMRANGE", "DATERANGE", "TSRANGE", "TSTZRANGE"):
    _PG_TYPE_HINTS[_range] = _RANGE_HINT
    _PG_TYPE_HINTS[_range.replace("RANGE", "MULTIRANGE")] = _RANGE_HINT

PG_ONLY_TYPES: dict[object, tuple[str, str]] = {
    _pg(name): (f"postgresql.{name}", hint) for name, hint in _PG_TYPE_HINTS.items() if hasattr(postgresql, name)
}
PG_ONLY_TYPES[sa.ARRAY] = ("sqlalchemy.ARRAY", _PG_TYPE_HINTS["ARRAY"])
PG_ONLY_TYPES[sa.UUID] = ("UUID (the native uuid type)", _PG_TYPE_HINTS["UUID"])

_SQL_TYPE_HINTS = {
    **_PG_TYPE_HINTS,
    "TIMESTAMPTZ": "use DATETIME(6) holding UTC (tidb_compat.UTCDateTime in models)",
    "TIMETZ": "use TIME(6) holding UTC",
    "SERIAL": "use INT AUTO_INCREMENT (or BIGINT AUTO_RANDOM on TiDB); in models an autoincrement primary key",
    "UUID": "use CHAR(36) or BINARY(16) (sqlalchemy.Uuid in models)",
}
_SQL_TYPE_WORD = re.compile(
    r"\b(?:JSONB|JSONPATH|TIMESTAMPTZ|TIMETZ|BYTEA|HSTORE|TSVECTOR|TSQUERY|CITEXT|INET|CIDR|MACADDR8?"
    r"|(?:INT4|INT8|NUM|DATE|TS|TSTZ)(?:MULTI)?RANGE|(?:BIG|SMALL)?SERIAL|UUID)\b(?!\s*\()",
    re.IGNORECASE,
)
_SQL_ARRAY_TYPE = re.compile(
    r"\b(?:TEXT|VARCHAR|INT|INTEGER|BIGINT|SMALLINT|UUID|JSON|JSONB|NUMERIC|BOOLEAN)\s*\[\s*\]", re.IGNORECASE
)
_AFTER_COLUMN_NAME = re.compile(r"[\w\"`\]]\s+$")
_BEFORE_COLUMN_END = re.compile(r"^\s*(?:,|\)|$|PRIMARY\b|NOT\b|NULL\b|UNIQUE\b|REFERENCES\b|DEFAULT\b)", re.IGNORECASE)
_COMMON_WORDS = frozenset({"INET", "CIDR", "MACADDR", "MACADDR8", "SERIAL", "BIGSERIAL", "SMALLSERIAL", "UUID"})
"""Type names that are also common column names: only reported in a column definition."""


class PostgresOnlyType(Rule):
    """TC003: a column type that does not exist on TiDB: JSONB, ARRAY (postgresql or
    ``sqlalchemy.ARRAY``), HSTORE, INET, CIDR, CITEXT, TSVECTOR, range types, the native
    ``UUID`` type, INTERVAL, BYTEA, MONEY, ... in code, in DDL strings (also ``SERIAL``,
    ``TIMESTAMPTZ``, ``text[]``), and in ``--metadata`` mode any column type that TiDB's
    dialect cannot compile.
    """

    id = "TC003"
    title = "PostgreSQL-only column type"
    hint = "use tidb_compat.PortableJSON / PortableArray / UTCDateTime, sqlalchemy.Uuid, String(n), LargeBinary"

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        if not _is_outermost_reference(node, ctx):
            return
        obj = ctx.resolve(node)
        if obj is None or not isinstance(obj, type) or obj not in PG_ONLY_TYPES:
            return
        name, hint = PG_ONLY_TYPES[obj]
        yield Hit(getattr(node, "lineno", 0), f"{name} does not exist on TiDB", hint)

    def check_sql(self, sql: str) -> Iterator[SqlHit]:
        for match in _SQL_TYPE_WORD.finditer(sql):
            word = match.group(0).upper()
            before, after = sql[: match.start()], sql[match.end():]
            if before.rstrip().endswith("::"):
                continue  # reported as a cast (TC006)
            if word in _COMMON_WORDS and not (_AFTER_COLUMN_NAME.search(before) and _BEFORE_COLUMN_END.match(after)):
                continue
            key = "SERIAL" if word.endswith("SERIAL") else word
            hint = _SQL_TYPE_HINTS.get(key, _RANGE_HINT if word.endswith("RANGE") else None)
            yield SqlHit(match.start(), match.end(), f"PostgreSQL-only type {match.group(0)} in SQL", hint)
        for match in _SQL_ARRAY_TYPE.finditer(sql):
            if not sql[: match.start()].rstrip().endswith("::"):
                yield SqlHit(match.start(), match.end(), f"PostgreSQL array type {match.group(0)} in SQL",
                             _PG_TYPE_HINTS["ARRAY"])

    def check_table(self, table: sa.Table, target: Dialect) -> Iterator[MetaHit]:
        for column in table.columns:
            effective = _tidb_type(column.type, target)
            known = next((PG_ONLY_TYPES[cls] for cls in type(effective).__mro__ if cls in PG_ONLY_TYPES), None)
            if known is not None:
                name, hint = known
                yield MetaHit(_where(table, column), f"{name} does not exist on TiDB", hint)
                continue
            try:
                column.type.compile(dialect=target)
            except sa.exc.CompileError as error:
                if _needs_length(_effective_type(column.type, target)):
                    continue  # TC013 / TC015
                yield MetaHit(
                    _where(table, column), f"type {column.type!r} cannot be created on TiDB ({type(error).__name__})"
                )


UUID_FUNCTIONS = frozenset({"gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4"})


class PostgresUuidFunction(Rule):
    """TC004: ``gen_random_uuid()`` / ``uuid_generate_v4()`` (pgcrypto, uuid-ossp) in SQL,
    ``server_default`` text or ``func.gen_random_uuid()``: TiDB has neither function."""

    id = "TC004"
    title = "PostgreSQL UUID function"
    hint = "generate ids in Python: mapped_column(sqlalchemy.Uuid, primary_key=True, default=uuid.uuid4)"
    _patterns = ((re.compile(r"\b(?:gen_random_uuid|uuid_generate_v(?:1mc|1|4))\s*\(\s*\)", re.IGNORECASE),
                  "{match} does not exist on TiDB"),)

    def check_sql(self, sql: str) -> Iterator[SqlHit]:
        return _sql_hits(self._patterns, sql)

    def check_function(self, name: str) -> str | None:
        return f"{name}() does not exist on TiDB" if name in UUID_FUNCTIONS else None

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        if isinstance(node, ast.Call):
            name = ctx.sql_function_name(node)
            message = self.check_function(name) if name else None
            if message:
                yield Hit(node.lineno, message)


NOW_FUNCTIONS = frozenset(
    {"now", "current_timestamp", "localtimestamp", "transaction_timestamp", "statement_timestamp", "clock_timestamp"}
)
DEFAULT_KEYWORDS = ("server_default", "server_onupdate", "default", "onupdate")


class PostgresNow(Rule):
    """TC005: ``now()`` as a column default (``server_default=func.now()``,
    ``server_default=text("now()")``, ``default=func.now()``) or in SQL strings.

    PostgreSQL's ``now()`` is the transaction's start as ``timestamptz`` with microseconds;
    TiDB's is the statement time in the session time zone, and ``DEFAULT NOW()`` on a
    ``DATETIME(6)`` column is refused (the precision must match).
    """

    id = "TC005"
    title = "now() default"
    hint = (
        "use server_default=tidb_compat.utcnow() (CURRENT_TIMESTAMP(6) on TiDB) with a tidb_compat.UTCDateTime column"
    )
    _patterns = ((re.compile(r"\bnow\s*\(\s*\)", re.IGNORECASE),
                  "now() differs on TiDB (session time zone, no fractional seconds unless NOW(6))"),)

    def check_sql(self, sql: str) -> Iterator[SqlHit]:
        return _sql_hits(self._patterns, sql)

    def check_function(self, name: str) -> str | None:
        if name in NOW_FUNCTIONS:
            return f"{name}() as a column default differs on TiDB (precision, time zone)"
        return None

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        if not isinstance(node, ast.Call):
            return
        for keyword in node.keywords:
            if keyword.arg in DEFAULT_KEYWORDS and isinstance(keyword.value, ast.Call):
                name = ctx.sql_function_name(keyword.value)
                if name in NOW_FUNCTIONS:
                    yield Hit(keyword.value.lineno, f"{keyword.arg}={name}() differs on TiDB (precision, time zone)")


class PostgresCast(Rule):
    """TC006: a ``::type`` cast inside a SQL string: PostgreSQL syntax, a syntax error on TiDB."""

    id = "TC006"
    title = "PostgreSQL :: cast"
    hint = "use CAST(expr AS type) in SQL, or sqlalchemy.cast(expr, Type) in Python"
    _patterns = ((re.compile(r"(?<=[\w)\]'\"])\s*::\s*[A-Za-z_][\w.]*(?:\s*\[\s*\])?"), "PostgreSQL cast '{match}'"),)

    def check_sql(self, sql: str) -> Iterator[SqlHit]:
        return _sql_hits(self._patterns, sql)


class PostgresIlike(Rule):
    """TC007: ``ILIKE`` in a SQL string (TiDB has no ILIKE).  ``column.ilike(...)`` in Python is
    fine: SQLAlchemy compiles it as ``lower(x) LIKE lower(y)`` on TiDB."""

    id = "TC007"
    title = "ILIKE in SQL"
    hint = (
        "use column.ilike(...) in Python, or lower(x) LIKE lower(:pattern) in SQL "
        "(TiDB's default utf8mb4_bin is case-sensitive)"
    )
    _patterns = ((re.compile(r"\bNOT\s+ILIKE\b|\bILIKE\b", re.IGNORECASE), "{match} does not exist on TiDB"),)

    def check_sql(self, sql: str) -> Iterator[SqlHit]:
        return _sql_hits(self._patterns, sql)


class Returning(Rule):
    """TC008: ``RETURNING`` in SQL strings and ``.returning(...)`` calls.  TiDB has no
    RETURNING (some versions parse it and ignore it)."""

    id = "TC008"
    title = "RETURNING"
    hint = (
        "read generated keys from result.inserted_primary_key (or lastrowid) or re-select by key; "
        "gate RETURNING on tidb_compat.get_backend(engine).features.supports_returning"
    )
    _patterns = ((re.compile(r"\bRETURNING\b", re.IGNORECASE), "RETURNING is not supported by TiDB"),)

    def check_sql(self, sql: str) -> Iterator[SqlHit]:
        return _sql_hits(self._patterns, sql)

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "returning":
            yield Hit(node.func.end_lineno or node.lineno, ".returning() needs RETURNING, which TiDB does not support")


_PG_KWARG_EFFECTS = {
    "postgresql_where": (
        "the partial index becomes a full index on TiDB (a partial UNIQUE index then refuses rows PostgreSQL accepts)",
        "enforce the condition differently: a generated column that is NULL outside the condition plus a "
        "unique index on it, or a check in the application",
    ),
    "postgresql_using": (
        "TiDB builds a B-tree index instead (gin/gist/brin/hash are ignored)",
        "for arrays use tidb_compat.multi_valued_index(); for text search a FULLTEXT index (TiDB Cloud); "
        "otherwise drop it",
    ),
    "postgresql_ops": ("operator classes are ignored by TiDB", "drop it, or index a generated column"),
    "postgresql_include": ("covering-index INCLUDE columns are ignored by TiDB", "add the columns to the index key"),
    "postgresql_concurrently": ("CONCURRENTLY is ignored (TiDB DDL is always online)", "drop it"),
    "postgresql_nulls_not_distinct": (
        "NULLS NOT DISTINCT is ignored: TiDB's unique indexes allow many NULLs",
        "make the columns NOT NULL or enforce it in the application",
    ),
}


def _is_dialect_options_dict(node: ast.Dict, ctx: SourceContext) -> bool:
    """A dict of ``__table_args__`` or a ``**{...}`` argument: where dialect options go."""
    parent = ctx.parent(node)
    if isinstance(parent, ast.keyword) and parent.arg is None:
        return True
    while isinstance(parent, (ast.Tuple, ast.List)):
        parent = ctx.parent(parent)
    targets: list[ast.expr] = []
    if isinstance(parent, ast.Assign):
        targets = parent.targets
    elif isinstance(parent, ast.AnnAssign):
        targets = [parent.target]
    return any(isinstance(target, ast.Name) and target.id == "__table_args__" for target in targets)


class PostgresDialectKwargs(Rule):
    """TC009: ``postgresql_*`` keyword arguments (``postgresql_using``, ``postgresql_where``,
    ``postgresql_ops``, ``postgresql_include``, ``postgresql_partition_by``, ...) on indexes,
    tables, columns and constraints, and ``{"postgresql_...": ...}`` entries of
    ``__table_args__``.  SQLAlchemy silently ignores them on TiDB, so the schema differs."""

    id = "TC009"
    title = "postgresql_* dialect option"
    hint = "TiDB ignores it: make sure the schema still does what is needed without it"

    @staticmethod
    def describe_option(key: str) -> tuple[str, str | None]:
        effect, hint = _PG_KWARG_EFFECTS.get(key, ("it is ignored by TiDB", None))
        return f"{key} is PostgreSQL-only: {effect}", hint

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg and keyword.arg.startswith("postgresql_"):
                    message, hint = self.describe_option(keyword.arg)
                    yield Hit(keyword.value.lineno, message, hint)
        elif isinstance(node, ast.Dict) and _is_dialect_options_dict(node, ctx):
            for key in node.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.startswith("postgresql_"):
                    message, hint = self.describe_option(key.value)
                    yield Hit(key.lineno, message, hint)

    def check_table(self, table: sa.Table, target: Dialect) -> Iterator[MetaHit]:
        items: list[tuple[str, str, Any]] = [(table.fullname, "", table)]
        items += [(_where(table, column), "", column) for column in table.columns]
        items += [(table.fullname, f"{_index_label(index)}: ", index) for index in table.indexes]
        items += [(table.fullname, f"{_constraint_label(c)}: ", c) for c in table.constraints]
        for where, label, item in items:
            for key in sorted(getattr(item, "dialect_kwargs", {})):
                if key.startswith("postgresql_"):
                    message, hint = self.describe_option(key)
                    yield MetaHit(where, label + message, hint)


class PostgresSequence(Rule):
    """TC010: ``Sequence(...)`` and ``nextval()``/``currval()``/``setval()``.  SQLAlchemy's MySQL
    dialect ignores ``Sequence`` on a column (the id then comes from AUTO_INCREMENT) and cannot
    execute one on its own."""

    id = "TC010"
    title = "Sequence"
    hint = (
        "drop the Sequence and use an autoincrement Integer/BigInteger primary key (AUTO_INCREMENT on TiDB: "
        "unique but not monotonic across TiDB servers), or client-side ids (sqlalchemy.Uuid, default=uuid.uuid4)"
    )
    _patterns = ((re.compile(r"\b(?:nextval|currval|setval|lastval)\s*\(", re.IGNORECASE),
                  "sequence function {match}...) does not work on TiDB through the MySQL dialect"),)

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        if isinstance(node, ast.Call) and ctx.resolve(node.func) is sa.Sequence:
            yield Hit(node.lineno, "Sequence() is ignored or unsupported on TiDB (MySQL dialect)")
        elif isinstance(node, ast.Call):
            name = ctx.sql_function_name(node)
            message = self.check_function(name) if name else None
            if message:
                yield Hit(node.lineno, message)

    def check_sql(self, sql: str) -> Iterator[SqlHit]:
        return _sql_hits(self._patterns, sql)

    def check_function(self, name: str) -> str | None:
        if name in {"nextval", "currval", "setval", "lastval"}:
            return f"sequence function {name}() does not work on TiDB through the MySQL dialect"
        return None

    def check_table(self, table: sa.Table, target: Dialect) -> Iterator[MetaHit]:
        for column in table.columns:
            if isinstance(column.default, sa.Sequence):
                yield MetaHit(_where(table, column), f"Sequence {column.default.name!r} is ignored on TiDB")


def _datetime_message(spec: TypeSpec) -> str:
    if spec.inferred:
        return f"{spec.text} maps to a naive DateTime(): DATETIME on TiDB drops the time zone and microseconds"
    if spec.cls is not None and issubclass(spec.cls, satypes.TIMESTAMP):
        return f"{spec.text} is TIMESTAMP on TiDB: converted through the session time zone, ends in 2038"
    return f"{spec.text} is naive: DATETIME on TiDB keeps no time zone and drops microseconds"


def _is_plain_datetime(cls: type[Any] | None) -> bool:
    return (
        cls is not None
        and issubclass(cls, satypes.DateTime)
        and not issubclass(cls, satypes.TypeDecorator)
    )


class NaiveDateTime(Rule):
    """TC011: a naive ``DateTime`` column: ``DateTime``, ``DateTime()``, ``TIMESTAMP()`` and
    ``Mapped[datetime]`` without a column type (which maps to ``DateTime()``).

    PostgreSQL keeps microseconds; TiDB's ``DATETIME`` rounds them away, and naive values are
    read in whatever time zone the writer assumed.
    """

    id = "TC011"
    title = "naive DateTime"
    hint = "use tidb_compat.UTCDateTime (aware UTC instants with microseconds on every backend)"

    def check_column(self, spec: ColumnSpec, ctx: SourceContext) -> Iterator[Hit]:
        if _is_plain_datetime(spec.type.cls) and not spec.type.timezone:
            yield Hit(spec.line, _datetime_message(spec.type))

    def check_table(self, table: sa.Table, target: Dialect) -> Iterator[MetaHit]:
        for column in table.columns:
            declared = column.type
            if isinstance(declared, satypes.TypeDecorator):
                continue
            effective = _effective_type(declared, target)
            if isinstance(effective, satypes.DateTime) and not getattr(declared, "timezone", False):
                yield MetaHit(_where(table, column), f"{declared!r} is naive: DATETIME on TiDB keeps no time zone")


class TimezoneDateTime(Rule):
    """TC012: ``DateTime(timezone=True)`` (``TIMESTAMP WITH TIME ZONE`` on PostgreSQL) is a plain
    ``DATETIME`` on TiDB: the offset of an aware value is silently dropped (its wall-clock time
    is stored) and microseconds are rounded away."""

    id = "TC012"
    title = "DateTime(timezone=True)"
    hint = "use tidb_compat.UTCDateTime (converts aware values to UTC on write, returns aware UTC)"

    def check_column(self, spec: ColumnSpec, ctx: SourceContext) -> Iterator[Hit]:
        if _is_plain_datetime(spec.type.cls) and spec.type.timezone:
            yield Hit(spec.line, f"{spec.type.text} has no time zone on TiDB: the UTC offset is dropped")

    def check_table(self, table: sa.Table, target: Dialect) -> Iterator[MetaHit]:
        for column in table.columns:
            declared = column.type
            if isinstance(declared, satypes.DateTime) and declared.timezone:
                message = f"{declared!r} has no time zone on TiDB: the UTC offset is dropped"
                yield MetaHit(_where(table, column), message)


def _needs_length(type_: object) -> bool:
    """String types that are VARCHAR on TiDB: a length is required."""
    cls = type_ if isinstance(type_, type) else type(type_)
    return (
        issubclass(cls, satypes.String)
        and not issubclass(cls, (satypes.Text, satypes.Enum, satypes.CHAR, satypes.NCHAR))
        and (isinstance(type_, type) or getattr(type_, "length", None) is None)
    )


def _key_phrase(keys: Sequence[str]) -> str:
    """``("primary_key", "index")`` -> ``the primary key and an index``."""
    words = {"primary_key": "the primary key", "index": "an index", "unique": "a unique constraint"}
    return " and ".join(words.get(key, key) for key in keys)


def _unbounded_storage(spec: TypeSpec) -> str | None:
    """Why a type cannot be (part of) a key as it is, or None."""
    cls = spec.storage
    if cls is None:
        return None
    if issubclass(cls, satypes.Text):
        return "TEXT"
    if issubclass(cls, satypes.LargeBinary):
        return "BLOB"
    if issubclass(cls, satypes.JSON):
        return "JSON"
    if _needs_length(cls) and spec.length is None and spec.length_known:
        return "VARCHAR without a length"
    return None


class UnboundedKey(Rule):
    """TC013: an unbounded type (``String`` without length, ``Text``, ``LargeBinary``, JSON)
    in a primary key, index or unique constraint.  TiDB refuses TEXT/BLOB/JSON key parts
    without a prefix length, and VARCHAR needs a length."""

    id = "TC013"
    title = "unbounded type in a key"
    hint = (
        "give the column a length (String(255); at most String(768) for a single-column key in utf8mb4), "
        "index a prefix (mysql_length=...) or a hash column"
    )

    def check_column(self, spec: ColumnSpec, ctx: SourceContext) -> Iterator[Hit]:
        reason = _unbounded_storage(spec.type) if spec.keys else None
        if reason:
            yield Hit(spec.line, f"{spec.type.text} ({reason}) in {_key_phrase(spec.keys)}: TiDB cannot index it as is")

    def check_table(self, table: sa.Table, target: Dialect) -> Iterator[MetaHit]:
        for label, columns, prefixes in _keys(table):
            for column in columns:
                if column.name in prefixes:
                    continue
                reason = _unbounded_column(column, target)
                if reason:
                    yield MetaHit(
                        _where(table, column), f"{column.type!r} ({reason}) in {label}: TiDB cannot index it as is"
                    )


class OversizedKey(Rule):
    """TC014: an index key over 3072 bytes (TiDB's ``max-index-length``; utf8mb4 counts 4 bytes
    per character, so ``VARCHAR(768)`` is the longest single-column key).  Source: single
    columns with ``String(n)``, ``4 * n > 3072`` and ``index``/``unique``/``primary_key``;
    ``--metadata``: the sum over the columns of each index, primary key and unique constraint."""

    id = "TC014"
    title = "index key over 3072 bytes"
    hint = (
        "keep keys at or under 3072 bytes: shorter String(n) (n <= 768 alone), a prefix index "
        "(Index(..., mysql_length={'col': 191})), or an index on a hash column"
    )

    def check_column(self, spec: ColumnSpec, ctx: SourceContext) -> Iterator[Hit]:
        length = spec.type.length
        if not spec.keys or length is None or spec.type.storage is None or not issubclass(
            spec.type.storage, satypes.String
        ) or issubclass(spec.type.storage, (satypes.Text, satypes.Enum)):
            return
        size = BYTES_PER_CHAR * length
        if size > MAX_KEY_BYTES:
            yield Hit(
                spec.line,
                f"{spec.type.text} in {_key_phrase(spec.keys)} takes {size} bytes in utf8mb4 (TiDB's limit: "
                f"{MAX_KEY_BYTES})",
            )

    def check_table(self, table: sa.Table, target: Dialect) -> Iterator[MetaHit]:
        for label, columns, prefixes in _keys(table):
            parts = [(column, _key_part_bytes(column, target, prefixes.get(column.name))) for column in columns]
            total = sum(size for _, size in parts)
            if total > MAX_KEY_BYTES:
                detail = " + ".join(f"{column.name} {size}" for column, size in parts)
                yield MetaHit(
                    table.fullname,
                    f"{label} takes {total} bytes in utf8mb4 ({detail}); TiDB's limit is {MAX_KEY_BYTES}",
                )


class StringWithoutLength(Rule):
    """TC015: ``String``/``Unicode``/``VARCHAR`` without a length (also ``Mapped[str]`` without a
    column type): VARCHAR needs a length on TiDB, ``create_all`` raises ``CompileError``."""

    id = "TC015"
    title = "String without length"
    hint = "give a length: String(255) (an indexed column: at most 768), or Text for long unindexed text"

    def check_column(self, spec: ColumnSpec, ctx: SourceContext) -> Iterator[Hit]:
        type_ = spec.type
        if spec.keys or type_.cls is None or type_.length is not None or not type_.length_known:
            return
        if _needs_length(type_.cls) and not issubclass(type_.cls, satypes.TypeDecorator):
            what = f"{type_.text} maps to String()" if type_.inferred else type_.text
            yield Hit(spec.line, f"{what} without a length: TiDB needs VARCHAR(n)")

    def check_table(self, table: sa.Table, target: Dialect) -> Iterator[MetaHit]:
        keyed = {column.name for _, columns, _ in _keys(table) for column in columns}
        for column in table.columns:
            if column.name not in keyed and _needs_length(_effective_type(column.type, target)):
                yield MetaHit(_where(table, column), f"{column.type!r} without a length: TiDB needs VARCHAR(n)")


class PostgresUpsert(Rule):
    """TC016: PostgreSQL upserts: ``ON CONFLICT`` in SQL and ``.on_conflict_do_update()`` /
    ``.on_conflict_do_nothing()`` of ``postgresql.insert()``."""

    id = "TC016"
    title = "ON CONFLICT upsert"
    hint = (
        "TiDB upserts with INSERT ... ON DUPLICATE KEY UPDATE "
        "(sqlalchemy.dialects.mysql.insert(...).on_duplicate_key_update()); choose per backend vendor"
    )
    _patterns = ((re.compile(r"\bON\s+CONFLICT\b", re.IGNORECASE), "{match} does not exist on TiDB"),)

    def check_sql(self, sql: str) -> Iterator[SqlHit]:
        return _sql_hits(self._patterns, sql)

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"on_conflict_do_update", "on_conflict_do_nothing"}
        ):
            yield Hit(node.func.end_lineno or node.lineno, f".{node.func.attr}() is PostgreSQL's ON CONFLICT")


_PG_FUNCTION_HINTS = {
    "array_agg": "sqlalchemy.func.aggregate_strings() for text, or aggregate in Python",
    "string_agg": "sqlalchemy.func.aggregate_strings(expr, separator) (GROUP_CONCAT on TiDB)",
    "array_length": "tidb_compat.PortableArray and len() in Python",
    "array_position": "tidb_compat.PortableArray with .contains()",
    "array_to_string": "aggregate_strings() or Python",
    "unnest": "a child table, or JSON functions on a PortableArray",
    "generate_series": "a recursive CTE or a numbers table",
    "date_trunc": "compute the bucket in Python, or per backend (DATE_FORMAT on TiDB)",
    "to_char": "format in Python (TiDB: DATE_FORMAT)",
    "split_part": "SUBSTRING_INDEX on TiDB, or Python",
    "json_build_object": "build the document in Python and store it in a PortableJSON column",
    "json_agg": "aggregate in Python (TiDB: JSON_ARRAYAGG)",
    "to_tsvector": "a FULLTEXT index (TiDB Cloud) or an external search index",
    "to_tsquery": "a FULLTEXT index (TiDB Cloud) or an external search index",
    "plainto_tsquery": "a FULLTEXT index (TiDB Cloud) or an external search index",
    "websearch_to_tsquery": "a FULLTEXT index (TiDB Cloud) or an external search index",
    "ts_rank": "a FULLTEXT index (TiDB Cloud) or an external search index",
    "ts_headline": "a FULLTEXT index (TiDB Cloud) or an external search index",
    "similarity": "pg_trgm has no TiDB counterpart",
}
_PG_FUNCTION_PATTERN = re.compile(
    r"\b(" + "|".join(sorted(_PG_FUNCTION_HINTS)) + r"|jsonb_\w+)\s*\(", re.IGNORECASE
)


class PostgresFunction(Rule):
    """TC017: PostgreSQL-only SQL functions (``array_agg``, ``string_agg``, ``jsonb_*``,
    ``date_trunc``, ``generate_series``, ``unnest``, ``to_tsvector``, ...) in SQL strings and
    as ``func.<name>()``, which SQLAlchemy renders by name on every backend."""

    id = "TC017"
    title = "PostgreSQL-only SQL function"
    hint = "use a portable construct (sqlalchemy.func.aggregate_strings, tidb_compat.PortableJSON helpers) or Python"

    @staticmethod
    def _hint(name: str) -> str | None:
        if name.startswith("jsonb_"):
            return "use tidb_compat.PortableJSON with .contains() / .path_text(), or JSON_* functions per backend"
        return _PG_FUNCTION_HINTS.get(name)

    def check_function(self, name: str) -> str | None:
        if name in _PG_FUNCTION_HINTS or name.startswith("jsonb_"):
            return f"{name}() is a PostgreSQL-only function"
        return None

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        if isinstance(node, ast.Call):
            name = ctx.sql_function_name(node)
            message = self.check_function(name) if name else None
            if name and message:
                yield Hit(node.lineno, message, self._hint(name))

    def check_sql(self, sql: str) -> Iterator[SqlHit]:
        for match in _PG_FUNCTION_PATTERN.finditer(sql):
            name = match.group(1).lower()
            yield SqlHit(match.start(), match.end(), f"{name}() is a PostgreSQL-only function", self._hint(name))


_PG_SYNTAX = (
    (re.compile(r"\|\|"), "'||' concatenates on PostgreSQL but is logical OR on TiDB",
     "use CONCAT(a, b) in SQL, or a + b on String columns in Python (compiled to concat() on TiDB)"),
    (re.compile(r"\bDISTINCT\s+ON\s*\(", re.IGNORECASE), "DISTINCT ON is PostgreSQL-only",
     "use a window function (ROW_NUMBER() OVER (PARTITION BY ...)) or GROUP BY"),
    (re.compile(r"@>|<@|\?\||\?&|#>>?"), "PostgreSQL JSON/array operator '{match}' (on TiDB '#' starts a comment)",
     "use tidb_compat.PortableJSON / PortableArray .contains() / .path_text(), which compile per backend"),
    (re.compile(r"(?<=\s)(?:!~\*?|~\*?)(?=\s)"), "PostgreSQL regular-expression operator '{match}'",
     "use REGEXP / regexp_like() (sqlalchemy: column.regexp_match())"),
    (re.compile(r"\bCREATE\s+EXTENSION\b", re.IGNORECASE), "CREATE EXTENSION is PostgreSQL-only",
     "drop it; use portable types and functions instead of the extension"),
    (re.compile(r"\bINTERVAL\s+'\s*\d+\s*[A-Za-z]+\s*'", re.IGNORECASE),
     "PostgreSQL interval literal {match} (TiDB: INTERVAL 1 DAY)",
     "compute the bound in Python (datetime.timedelta) and bind it as a parameter"),
)
PG_CONSTRUCTS: dict[object, str] = {
    postgresql.ExcludeConstraint: "postgresql.ExcludeConstraint",
    postgresql.aggregate_order_by: "postgresql.aggregate_order_by",
    postgresql.array: "postgresql.array",
    postgresql.Any: "postgresql.Any",
    postgresql.All: "postgresql.All",
    postgresql.hstore: "postgresql.hstore",
    postgresql.Range: "postgresql.Range",
}
if hasattr(postgresql, "distinct_on"):
    PG_CONSTRUCTS[postgresql.distinct_on] = "postgresql.distinct_on"


class PostgresSyntax(Rule):
    """TC018: PostgreSQL-only SQL syntax in strings (``||`` concatenation, ``DISTINCT ON``,
    ``@>``/``?|``/``#>>`` operators, ``~*`` regex match, ``CREATE EXTENSION``,
    ``INTERVAL '1 day'``) and PostgreSQL-only constructs in Python (``ExcludeConstraint``,
    ``aggregate_order_by``, ``postgresql.array``, ``Any``/``All``, ``hstore``)."""

    id = "TC018"
    title = "PostgreSQL-only SQL syntax"
    hint = "rewrite in portable SQL or SQLAlchemy Core"

    def check_sql(self, sql: str) -> Iterator[SqlHit]:
        for pattern, message, hint in _PG_SYNTAX:
            for match in pattern.finditer(sql):
                yield SqlHit(match.start(), match.end(), message.format(match=" ".join(match.group(0).split())), hint)

    def check_node(self, node: ast.AST, ctx: SourceContext) -> Iterator[Hit]:
        if not _is_outermost_reference(node, ctx):
            return
        obj = ctx.resolve(node)
        if obj is not None and _hashable(obj) and obj in PG_CONSTRUCTS:
            yield Hit(getattr(node, "lineno", 0), f"{PG_CONSTRUCTS[obj]} is PostgreSQL-only")

    def check_table(self, table: sa.Table, target: Dialect) -> Iterator[MetaHit]:
        for constraint in table.constraints:
            if isinstance(constraint, postgresql.ExcludeConstraint):
                yield MetaHit(
                    table.fullname,
                    f"{_constraint_label(constraint)}: EXCLUDE constraints are PostgreSQL-only (ignored on TiDB)",
                    "enforce it in the application or with a unique key on derived columns",
                )


PG_DRIVER_PACKAGES = frozenset({"psycopg2", "psycopg2-binary", "asyncpg", "aiopg", "pg8000", "psycopg2cffi"})
_SQLALCHEMY_PG_EXTRAS = re.compile(r"^(?:postgresql|postgresql[-_](?:psycopg2\w*|asyncpg|pg8000)|asyncpg)$")


class PostgresDriverDependency(Rule):
    """TC019: ``psycopg2``/``psycopg2-binary``/``asyncpg`` (and aiopg, pg8000,
    ``sqlalchemy[postgresql]``, ``sqlalchemy[asyncpg]``) in requirements*.txt, pyproject.toml,
    setup.cfg or setup.py.  tidb_compat drives TiDB with PyMySQL/aiomysql and PostgreSQL with
    psycopg 3, so these drivers are dead weight (or a sign of driver-level code)."""

    id = "TC019"
    title = "PostgreSQL driver dependency"
    hint = "depend on tidb-compat (PyMySQL, aiomysql); add tidb-compat[postgresql] (psycopg 3) to keep PostgreSQL"

    def check_requirement(self, requirement: Requirement) -> Iterator[Hit]:
        if requirement.name in PG_DRIVER_PACKAGES:
            yield Hit(requirement.line, f"depends on the PostgreSQL driver {requirement.name} ({requirement.text})")
        elif requirement.name == "sqlalchemy":
            for extra in sorted(requirement.extras):
                if _SQLALCHEMY_PG_EXTRAS.match(extra):
                    message = f"sqlalchemy[{extra}] pulls in a PostgreSQL driver ({requirement.text})"
                    yield Hit(requirement.line, message)


class Unparsable(Rule):
    """TC000: a file the audit could not read or parse (so nothing in it was checked)."""

    id = "TC000"
    title = "file not audited"
    hint = "fix the file, or leave it out with --exclude"


RULES: tuple[Rule, ...] = (
    Unparsable(),
    PostgresDialectImport(),
    PostgresDriverImport(),
    PostgresOnlyType(),
    PostgresUuidFunction(),
    PostgresNow(),
    PostgresCast(),
    PostgresIlike(),
    Returning(),
    PostgresDialectKwargs(),
    PostgresSequence(),
    NaiveDateTime(),
    TimezoneDateTime(),
    UnboundedKey(),
    OversizedKey(),
    StringWithoutLength(),
    PostgresUpsert(),
    PostgresFunction(),
    PostgresSyntax(),
    PostgresDriverDependency(),
)
_BY_ID = {rule.id: rule for rule in RULES}


def rule_by_id(rule_id: str) -> Rule:
    return _BY_ID[rule_id]


# -- helpers for --metadata mode -----------------------------------------------------------------


def _hashable(obj: object) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _where(table: sa.Table, column: sa.ColumnElement[Any] | sa.Column[Any]) -> str:
    return f"{table.fullname}.{getattr(column, 'name', column)}"


def _index_label(index: sa.Index) -> str:
    return f"index {index.name}" if index.name else "index"


def _constraint_label(constraint: sa.Constraint) -> str:
    kind = {
        "PrimaryKeyConstraint": "primary key",
        "UniqueConstraint": "unique constraint",
        "CheckConstraint": "check constraint",
        "ForeignKeyConstraint": "foreign key",
    }.get(type(constraint).__name__, type(constraint).__name__)
    if constraint.name and isinstance(constraint.name, str):
        return f"{kind} {constraint.name}"
    columns = getattr(constraint, "columns", None)
    names = ", ".join(column.name for column in columns) if columns is not None else ""
    return f"{kind} ({names})" if names else kind


def _tidb_type(type_: satypes.TypeEngine[Any], target: Dialect) -> satypes.TypeEngine[Any]:
    """The type as declared for TiDB: its ``mysql`` variant, a TypeDecorator's dialect impl,
    else the type itself (not adapted to the dialect, so a JSONB stays a JSONB)."""
    variants: dict[str, satypes.TypeEngine[Any]] = getattr(type_, "_variant_mapping", {})
    if target.name in variants:
        return variants[target.name]
    if isinstance(type_, satypes.TypeDecorator):
        try:
            return type_.load_dialect_impl(target)
        except Exception:
            return type_
    return type_


def _effective_type(type_: satypes.TypeEngine[Any], target: Dialect) -> satypes.TypeEngine[Any]:
    """The type TiDB's dialect really uses (a TypeDecorator's impl, a ``mysql`` variant)."""
    try:
        return type_._unwrapped_dialect_impl(target)
    except Exception:
        return type_


def _unbounded_column(column: sa.Column[Any], target: Dialect) -> str | None:
    effective = _effective_type(column.type, target)
    if isinstance(effective, satypes.Text):
        return "TEXT"
    if isinstance(effective, satypes.LargeBinary):
        return "BLOB"
    if isinstance(effective, satypes.JSON):
        return "JSON"
    if _needs_length(effective):
        return "VARCHAR without a length"
    return None


def _keys(table: sa.Table) -> Iterator[tuple[str, list[sa.Column[Any]], dict[str, int]]]:
    """(label, columns, prefix lengths by column name) for the primary key, each index and each
    unique constraint of ``table``; expressions in functional indexes are left out."""
    if table.primary_key is not None and len(table.primary_key.columns):
        yield "the primary key", list(table.primary_key.columns), {}
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        columns = [expr for expr in index.expressions if isinstance(expr, sa.Column)]
        if not columns:
            continue
        length = index.dialect_options["mysql"]["length"]
        prefixes: dict[str, int] = {}
        if isinstance(length, int):
            prefixes = {column.name: length for column in columns}
        elif isinstance(length, dict):
            prefixes = {str(name): int(value) for name, value in length.items()}
        yield ("unique " if index.unique else "") + _index_label(index), columns, prefixes
    for constraint in sorted(table.constraints, key=lambda c: str(c.name)):
        if isinstance(constraint, sa.UniqueConstraint) and not isinstance(constraint, sa.PrimaryKeyConstraint):
            yield _constraint_label(constraint), list(constraint.columns), {}


_FIXED_BYTES = (
    (re.compile(r"^BIGINT\b"), 8),
    (re.compile(r"^(?:INT|INTEGER)\b"), 4),
    (re.compile(r"^MEDIUMINT\b"), 3),
    (re.compile(r"^SMALLINT\b"), 2),
    (re.compile(r"^(?:TINYINT|BOOL|BOOLEAN|YEAR)\b"), 1),
    (re.compile(r"^(?:DATETIME|DOUBLE|REAL)\b"), 8),
    (re.compile(r"^TIMESTAMP\b"), 7),
    (re.compile(r"^TIME\b"), 6),
    (re.compile(r"^DATE\b"), 3),
    (re.compile(r"^FLOAT\b"), 4),
    (re.compile(r"^ENUM\b"), 2),
)
_CHARS = re.compile(r"^(?:N?VAR)?N?CHAR(?:ACTER)?\s*\((\d+)\)")
_BINARY = re.compile(r"^(?:VAR)?BINARY\s*\((\d+)\)")
_DECIMAL = re.compile(r"^(?:DECIMAL|NUMERIC)\s*\((\d+)")
_SINGLE_BYTE = re.compile(r"CHARACTER SET\s+'?(?:ascii|latin1|binary)", re.IGNORECASE)


def _key_part_bytes(column: sa.Column[Any], target: Dialect, prefix: int | None) -> int:
    """The most bytes ``column`` takes in an index key on TiDB (0 when unknown)."""
    try:
        ddl = column.type.compile(dialect=target).strip().upper()
    except sa.exc.CompileError:
        return 0
    per_char = 1 if _SINGLE_BYTE.search(ddl) else BYTES_PER_CHAR
    match = _CHARS.match(ddl)
    if match:
        chars = int(match.group(1))
        return per_char * (min(chars, prefix) if prefix else chars)
    match = _BINARY.match(ddl)
    if match:
        size = int(match.group(1))
        return min(size, prefix) if prefix else size
    if prefix and re.match(r"^(?:TINY|MEDIUM|LONG)?(?:TEXT|BLOB)\b", ddl):
        return (1 if "BLOB" in ddl else per_char) * prefix
    match = _DECIMAL.match(ddl)
    if match:
        return int(match.group(1)) // 2 + 1
    for pattern, size in _FIXED_BYTES:
        if pattern.match(ddl):
            return size
    return 0


def rule_table() -> list[tuple[str, str, str]]:
    """(id, title, hint) of every rule, in ID order."""
    return [(rule.id, rule.title, rule.hint) for rule in RULES]
