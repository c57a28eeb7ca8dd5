"""Walk paths and metadata, hand what is found to the rules, collect findings.

* ``.py`` files are parsed with :mod:`ast` (never imported); names are resolved through the
  module's imports, and only ``sqlalchemy`` / ``tidb_compat`` objects are looked up for real.
* ``requirements*.txt`` (and ``*.txt`` under a ``requirements/`` folder), ``pyproject.toml``,
  ``setup.cfg`` and the ``setup()`` call of ``setup.py`` are read for dependencies.
* ``--metadata module:attr`` imports a :class:`sqlalchemy.MetaData` (or a declarative base,
  a registry: anything with ``.metadata``) and inspects its tables against TiDB's dialect.

Directories such as ``.git``, ``.nox``, ``.venv``, ``build``, ``__pycache__`` and
``site-packages`` (and any virtualenv) are skipped.  A ``# tidb-compat: ignore[TC011]``
comment (several IDs: ``ignore[TC011,TC015]``; all: ``ignore``) silences findings on its line.
"""

from __future__ import annotations

import ast
import configparser
import fnmatch
import functools
import importlib
import io
import os
import re
import sys
import tokenize
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy import types as satypes
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import elements as saelements
from sqlalchemy.sql import functions as safunctions

from ..errors import ConfigurationError
from .rules import RULES, ColumnSpec, Finding, Hit, Requirement, Rule, TypeSpec, is_type_test_argument, rule_by_id

__all__ = ["AuditResult", "audit", "audit_metadata", "audit_python_source", "load_metadata"]

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".nox", ".tox", ".venv", "venv", "build", "dist", "__pycache__",
        "site-packages", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
        ".eggs", ".data",
    }
)
_SUPPRESS = re.compile(r"tidb-compat:\s*ignore(-file)?(?:\[([^\]]*)\])?", re.IGNORECASE)
_FILE = 0
"""Key of file-wide suppressions (``# tidb-compat: ignore-file[...]``) in a suppression map."""
_OTHER_DIALECTS = frozenset({"mysql", "mariadb", "tidb", "sqlite", "mssql", "oracle"})
_ALL = "*"
_RESOLVABLE_ROOTS = ("sqlalchemy", "tidb_compat")
_MISSING = object()
_PG_WORDS = ("psycopg", "psycopg2", "asyncpg", "pg8000")
_NOT_ON_TIDB_FLAGS = frozenset(
    {"supports_returning", "native_array", "insert_returning", "update_returning", "delete_returning"}
)
"""Capability flags that are false on TiDB: code under ``if features.supports_returning:`` never
runs there."""
_PG_FUNCTION_NAME = re.compile(r"(?:^|_)(?:postgresql|postgres|pg)(?:_|$)", re.IGNORECASE)
_COLUMN_KEYS = ("primary_key", "index", "unique")
_SQL_METHODS = frozenset({"execute", "exec_driver_sql", "executemany", "executescript", "mogrify"})
_SQL_STATEMENT = re.compile(
    r"""^\s*(?:
        (?i:select)\s[\s\S]*?\b(?i:from)\b
      | SELECT\s
      | (?i:insert\s+into)\b
      | (?i:update)\s+[\w."`]+\s+(?i:set)\b
      | (?i:delete\s+from)\b
      | (?i:with)\s+(?i:recursive\s+)?\w+\s*(?:\([^)]*\)\s*)?(?i:as)\s*\(
      | (?i:create)\s+(?:(?i:or\s+replace|unique|temp|temporary)\s+)*
            (?i:table|index|view|extension|sequence|type|function|trigger|schema|domain)\b
      | (?i:alter)\s+(?i:table|sequence|type|index)\b
      | (?i:drop)\s+(?i:table|index|view|sequence|type|extension|schema)\b
      | (?i:truncate)\s+
    )""",
    re.VERBOSE,
)
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?")


@dataclass
class AuditResult:
    """Findings (sorted, de-duplicated) and what was looked at."""

    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    tables: int = 0


def audit(
    paths: Sequence[str | os.PathLike[str]] = (),
    metadata: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
) -> AuditResult:
    """Audit files and directories, and ``module:attr`` metadata specs.

    Raises :class:`tidb_compat.ConfigurationError` for a path that does not exist, a file of
    an unknown kind, or a metadata spec that cannot be imported.
    """
    result = AuditResult()
    found: set[Finding] = set()
    files = list(_collect_files(paths, exclude))
    for path, kind in files:
        found.update(_audit_file(path, kind))
    result.files = len(files)
    for spec in metadata:
        meta = load_metadata(spec)
        result.tables += len(meta.tables)
        found.update(audit_metadata(meta))
    result.findings = sorted(found)
    return result


# -- files -----------------------------------------------------------------------------------------


def _is_venv(directory: Path) -> bool:
    return (directory / "pyvenv.cfg").is_file()


def _excluded(relative: str, name: str, exclude: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(name, pattern) for pattern in exclude)


def _file_kind(path: Path, explicit: bool) -> str | None:
    name = path.name
    if name.endswith(".py"):
        return "python"
    if name == "pyproject.toml":
        return "pyproject"
    if name == "setup.cfg":
        return "setup.cfg"
    if name.endswith(".txt") and (
        fnmatch.fnmatch(name, "*requirements*.txt") or path.parent.name == "requirements" or explicit
    ):
        return "requirements"
    return None


def _collect_files(paths: Sequence[str | os.PathLike[str]], exclude: Sequence[str]) -> Iterator[tuple[Path, str]]:
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise ConfigurationError("PATHS", f"{os.fspath(given)} does not exist")
        if root.is_file():
            kind = _file_kind(root, explicit=True)
            if kind is None:
                raise ConfigurationError(
                    "PATHS", f"{os.fspath(given)} is not a .py, requirements*.txt, pyproject.toml or setup.cfg file"
                )
            yield root, kind
            continue
        for directory, subdirs, filenames in os.walk(root):
            here = Path(directory)
            subdirs[:] = sorted(
                name
                for name in subdirs
                if name not in SKIP_DIRS
                and not name.endswith(".egg-info")
                and not _is_venv(here / name)
                and not _excluded((here / name).relative_to(root).as_posix(), name, exclude)
            )
            for filename in sorted(filenames):
                path = here / filename
                if _excluded(path.relative_to(root).as_posix(), filename, exclude):
                    continue
                kind = _file_kind(path, explicit=False)
                if kind is not None:
                    yield path, kind


def _audit_file(path: Path, kind: str) -> list[Finding]:
    display = path.as_posix()
    try:
        data = path.read_bytes()
    except OSError as error:
        return [_finding(rule_by_id("TC000"), display, Hit(0, f"cannot read: {error.strerror or error}"))]
    if kind == "python":
        return audit_python_source(data, display)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return [_finding(rule_by_id("TC000"), display, Hit(0, f"not UTF-8: {error.reason}"))]
    try:
        if kind == "pyproject":
            requirements = list(_pyproject_requirements(text))
        elif kind == "setup.cfg":
            requirements = list(_setup_cfg_requirements(text))
        else:
            requirements = list(_requirements_txt(text))
    except (tomllib.TOMLDecodeError, configparser.Error) as error:
        message = " ".join(str(error).split())
        return [_finding(rule_by_id("TC000"), display, Hit(0, f"cannot parse: {message}"))]
    suppressed = _text_suppressions(text)
    return _requirement_findings(requirements, display, suppressed)


def _finding(rule: Rule, path: str, hit: Hit) -> Finding:
    return Finding(path, hit.line, rule.id, hit.message, hit.hint or rule.hint)


def _is_suppressed(suppressed: dict[int, set[str]], line: int, rule_id: str) -> bool:
    for key in (line, _FILE):
        ids = suppressed.get(key)
        if ids is not None and (_ALL in ids or rule_id in ids):
            return True
    return False


def _add_suppression(suppressed: dict[int, set[str]], comment: str, line: int) -> None:
    """Record ``# tidb-compat: ignore[...]`` (this line) or ``ignore-file[...]`` (whole file)."""
    match = _SUPPRESS.search(comment)
    if match is None:
        return
    ids = {part.strip().upper() for part in re.split(r"[,\s]+", match.group(2) or "") if part.strip()}
    suppressed.setdefault(_FILE if match.group(1) else line, set()).update(ids or {_ALL})


def _text_suppressions(text: str) -> dict[int, set[str]]:
    suppressed: dict[int, set[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if "#" in line:
            _add_suppression(suppressed, line[line.index("#"):], number)
    return suppressed


def _python_suppressions(source: str) -> dict[int, set[str]]:
    suppressed: dict[int, set[str]] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                _add_suppression(suppressed, token.string, token.start[0])
    except (tokenize.TokenError, SyntaxError):  # pragma: no cover - ast.parse succeeded
        pass
    return suppressed


# -- dependencies --------------------------------------------------------------------------------


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement(text: str, line: int) -> Requirement | None:
    match = _REQUIREMENT.match(text)
    if match is None:
        return None
    extras = frozenset(_normalise(extra.strip()) for extra in (match.group(2) or "").split(",") if extra.strip())
    return Requirement(line=line, text=text.strip(), name=_normalise(match.group(1)), extras=extras)


def _requirements_txt(text: str) -> Iterator[Requirement]:
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip().rstrip("\\").strip()
        if not line or line.startswith(("-", ".", "/")) or "://" in line.split("@")[0]:
            continue
        requirement = _requirement(line, number)
        if requirement is not None:
            yield requirement


class _LineFinder:
    """Finds the line of the n-th occurrence of a dependency in a file."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.seen: dict[str, int] = {}

    def find(self, predicate_key: str, predicate: Callable[[str], object]) -> int:
        wanted = self.seen.get(predicate_key, 0)
        count = 0
        for number, line in enumerate(self.lines, start=1):
            if predicate(line):
                if count == wanted:
                    self.seen[predicate_key] = wanted + 1
                    return number
                count += 1
        return 1


def _contains_any(needles: Sequence[str], row: str) -> bool:
    return any(needle in row for needle in needles)


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _pyproject_requirements(text: str) -> Iterator[Requirement]:
    data = tomllib.loads(text)
    finder = _LineFinder(text)
    project, tool = _table(data.get("project")), _table(data.get("tool"))
    strings = _strings(project.get("dependencies"))
    for group in _table(project.get("optional-dependencies")).values():
        strings += _strings(group)
    for group in _table(data.get("dependency-groups")).values():
        strings += _strings(group)
    strings += _strings(_table(tool.get("uv")).get("dev-dependencies"))
    for group in _table(_table(tool.get("pdm")).get("dev-dependencies")).values():
        strings += _strings(group)
    for text_requirement in strings:
        quoted = (f'"{text_requirement}"', f"'{text_requirement}'")
        line = finder.find(text_requirement, functools.partial(_contains_any, quoted))
        requirement = _requirement(text_requirement, line)
        if requirement is not None:
            yield requirement
    poetry = _table(tool.get("poetry"))
    tables = [_table(poetry.get("dependencies")), _table(poetry.get("dev-dependencies"))]
    tables += [_table(_table(group).get("dependencies")) for group in _table(poetry.get("group")).values()]
    for table in tables:
        for name, spec in table.items():
            if name == "python":
                continue
            key = re.compile(rf"^\s*[\"']?{re.escape(name)}[\"']?\s*=")
            line = finder.find(f"poetry:{name}", key.match)
            extras = _strings(_table(spec).get("extras"))
            written = f"{name}[{','.join(extras)}]" if extras else name
            requirement = _requirement(written, line)
            if requirement is not None:
                yield requirement


def _cfg_line_has(row: str, item: str) -> bool:
    """``row`` holds ``item`` as a continuation line or as the value of ``key = item``."""
    stripped = row.strip()
    return stripped.startswith(item) or bool(re.search(rf"[=:]\s*{re.escape(item)}\s*(?:#.*)?$", stripped))


def _setup_cfg_requirements(text: str) -> Iterator[Requirement]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    finder = _LineFinder(text)
    values: list[str] = []
    if parser.has_section("options"):
        for option in ("install_requires", "setup_requires", "tests_require"):
            values.append(parser.get("options", option, fallback=""))
    if parser.has_section("options.extras_require"):
        values += [value for _, value in parser.items("options.extras_require")]
    for value in values:
        for raw in value.splitlines():
            item = raw.split(" #")[0].strip()
            if not item or item.startswith("#"):
                continue
            line = finder.find(item, functools.partial(_cfg_line_has, item=item))
            requirement = _requirement(item, line)
            if requirement is not None:
                yield requirement


def _requirement_findings(
    requirements: Iterable[Requirement], path: str, suppressed: dict[int, set[str]]
) -> list[Finding]:
    findings = []
    for requirement in requirements:
        for rule in RULES:
            for hit in rule.check_requirement(requirement):
                if not _is_suppressed(suppressed, hit.line, rule.id):
                    findings.append(_finding(rule, path, hit))
    return findings


# -- Python modules ------------------------------------------------------------------------------


@functools.cache
def _import_object(qualname: str) -> object:
    """The object at ``qualname`` when it lives in sqlalchemy or tidb_compat, else _MISSING."""
    parts = qualname.split(".")
    if parts[0] not in _RESOLVABLE_ROOTS:
        return _MISSING
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except Exception:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except Exception:
            return _MISSING
        return obj
    return _MISSING


def _is_pg_string(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        value = node.value.lower()
        return value.startswith("postgres") or value in _PG_WORDS
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and node.elts:
        return all(_is_pg_string(element) for element in node.elts)
    return False


def _is_dialect_string(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.lower() in _OTHER_DIALECTS
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and node.elts:
        return all(_is_dialect_string(element) for element in node.elts)
    return False


def _terminates(body: Sequence[ast.stmt]) -> bool:
    return bool(body) and isinstance(body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break))


class PythonModule:
    """One parsed module: name resolution, PostgreSQL-only regions, annotations (implements
    :class:`tidb_compat.audit.rules.SourceContext`)."""

    def __init__(self, source: str, path: str) -> None:
        self.source = source
        self.path = path
        self.tree = ast.parse(source, filename=path)
        self.parents: dict[int, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[id(child)] = node
        self.aliases: dict[str, str] = {}
        self.star_modules: list[str] = []
        self.int_constants: dict[str, int] = {}
        self._collect_imports_and_constants()
        self.guarded: set[int] = set()
        self.dialect_aware: set[int] = set()
        self._mark_guards()
        self.annotations: set[int] = set()
        self._mark_annotations()
        self.uses: dict[str, list[tuple[ast.AST, bool]]] = {}
        self._collect_uses()

    # -- SourceContext --------------------------------------------------------------------

    def qualname(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            for module in self.star_modules:
                if _import_object(f"{module}.{node.id}") is not _MISSING:
                    return f"{module}.{node.id}"
            return None
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            return f"{base}.{node.attr}" if base else None
        return None

    def resolve(self, node: ast.AST) -> object | None:
        name = self.qualname(node)
        if name is None:
            return None
        obj = _import_object(name)
        return None if obj is _MISSING else obj

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self.parents.get(id(node))

    def binding_uses(self, name: str) -> Sequence[tuple[ast.AST, bool]]:
        return self.uses.get(name, [])

    def sql_function_name(self, call: ast.Call) -> str | None:
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(self.resolve(func.value), type(safunctions.func)):
            return func.attr.lower()
        obj = self.resolve(func)
        if isinstance(obj, type) and issubclass(obj, safunctions.FunctionElement):
            name = getattr(obj, "name", None)
            return name.lower() if isinstance(name, str) else None
        module = getattr(obj, "__module__", None) or ""
        if callable(obj) and module.startswith("sqlalchemy.dialects.postgresql"):
            return str(getattr(obj, "__name__", "")).lower() or None
        return None

    # -- preparation ----------------------------------------------------------------------

    def _collect_imports_and_constants(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".")[0]
                        self.aliases[root] = root
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    if alias.name == "*":
                        self.star_modules.append(node.module)
                    else:
                        self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for statement in self.tree.body:
            target: ast.expr | None = None
            value: ast.expr | None = None
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target, value = statement.targets[0], statement.value
            elif isinstance(statement, ast.AnnAssign):
                target, value = statement.target, statement.value
            if isinstance(target, ast.Name) and isinstance(value, ast.Constant) and type(value.value) is int:
                self.int_constants[target.id] = value.value

    def _pg_condition(self, test: ast.AST) -> str | None:
        """"pg" when ``test`` being true means PostgreSQL (or at least not TiDB), "not_pg" when
        it means not PostgreSQL."""
        if isinstance(test, (ast.Attribute, ast.Name)):
            name = test.attr if isinstance(test, ast.Attribute) else test.id
            return "pg" if name in _NOT_ON_TIDB_FLAGS else None
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            left, right, op = test.left, test.comparators[0], test.ops[0]
            if _is_pg_string(left) or _is_pg_string(right):
                if isinstance(op, (ast.Eq, ast.Is, ast.In)):
                    return "pg"
                if isinstance(op, (ast.NotEq, ast.IsNot, ast.NotIn)):
                    return "not_pg"
            if isinstance(op, (ast.Eq, ast.In)) and (_is_dialect_string(left) or _is_dialect_string(right)):
                return "other"
            return None
        if isinstance(test, ast.Call):
            func = test.func
            if isinstance(func, ast.Attribute) and func.attr == "startswith" and test.args:
                return "pg" if _is_pg_string(test.args[0]) else None
            if isinstance(func, ast.Name) and func.id == "isinstance" and len(test.args) == 2:
                obj = self.resolve(test.args[1])
                module = getattr(obj, "__module__", "") or ""
                return "pg" if module.startswith("sqlalchemy.dialects.postgresql") else None
            return None
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            inner = self._pg_condition(test.operand)
            return {"pg": "not_pg", "not_pg": "pg"}.get(inner or "")
        if isinstance(test, ast.BoolOp):
            results = [self._pg_condition(value) for value in test.values]
            if isinstance(test.op, ast.And):
                return "pg" if "pg" in results else ("not_pg" if "not_pg" in results else None)
            if all(result == "pg" for result in results):
                return "pg"
            if all(result == "not_pg" for result in results):
                return "not_pg"
        return None

    def _mark(self, node: ast.AST) -> None:
        for inner in ast.walk(node):
            self.guarded.add(id(inner))

    def _mark_aware(self, nodes: Sequence[ast.AST] | ast.AST) -> None:
        for node in nodes if isinstance(nodes, Sequence) else [nodes]:
            for inner in ast.walk(node):
                self.dialect_aware.add(id(inner))

    def _guard_body(self, statements: Sequence[ast.AST], guarded: bool) -> None:
        rest = guarded
        for statement in statements:
            self._guard(statement, rest)
            if (
                not rest
                and isinstance(statement, ast.If)
                and not statement.orelse
                and self._pg_condition(statement.test) == "not_pg"
                and _terminates(statement.body)
            ):
                rest = True  # ``if dialect.name != "postgresql": return ...`` -> the rest is PostgreSQL

    def _guard(self, node: ast.AST, guarded: bool) -> None:
        if guarded:
            self._mark(node)
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            decorated = any(
                isinstance(decorator, ast.Call) and any(_is_pg_string(arg) for arg in decorator.args)
                for decorator in node.decorator_list
            )
            if decorated or _PG_FUNCTION_NAME.search(node.name):
                self._mark(node)
                return
        if isinstance(node, (ast.If, ast.IfExp)):
            condition = self._pg_condition(node.test)
            self._guard(node.test, False)
            # SQL in a branch written for the other backends is dialect-specific on purpose
            if condition in {"not_pg", "other"}:
                self._mark_aware(node.body)
            elif condition == "pg":
                self._mark_aware(node.orelse)
            if isinstance(node, ast.If):
                self._guard_body(node.body, condition == "pg")
                self._guard_body(node.orelse, condition == "not_pg")
            else:
                self._guard(node.body, condition == "pg")
                self._guard(node.orelse, condition == "not_pg")
            return
        if (
            isinstance(node, ast.match_case)
            and isinstance(node.pattern, ast.MatchValue)
            and _is_pg_string(node.pattern.value)
        ):
            self._mark(node)
            return
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "with_variant"
            and len(node.args) >= 2
            and all(_is_pg_string(arg) for arg in node.args[1:])
        ):
            self._guard(node.func, False)
            self._mark(node.args[0])
            return
        for _, value in ast.iter_fields(node):
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt):
                    self._guard_body(value, False)
                else:
                    for item in value:
                        if isinstance(item, ast.AST):
                            self._guard(item, False)
            elif isinstance(value, ast.AST):
                self._guard(value, False)

    def _mark_guards(self) -> None:
        self._guard(self.tree, False)

    def _mark_annotations(self) -> None:
        roots: list[ast.AST] = []
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.AnnAssign, ast.arg)) and node.annotation is not None:
                roots.append(node.annotation)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
                roots.append(node.returns)
        for root in roots:
            for inner in ast.walk(root):
                self.annotations.add(id(inner))

    def _collect_uses(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                outer: ast.AST = node
                parent = self.parent(outer)
                while isinstance(parent, ast.Attribute) and parent.value is outer:
                    outer, parent = parent, self.parent(parent)
                runtime = (
                    id(outer) not in self.guarded
                    and id(outer) not in self.annotations
                    and not is_type_test_argument(outer, self.parent)
                )
                self.uses.setdefault(node.id, []).append((outer, runtime))

    def active(self, node: ast.AST) -> bool:
        """Nodes the rules see: not PostgreSQL-only, not annotations."""
        return id(node) not in self.guarded and id(node) not in self.annotations

    # -- columns --------------------------------------------------------------------------

    def _int(self, node: ast.AST | None) -> tuple[int | None, bool]:
        """(value, known) of a length argument."""
        if node is None:
            return None, True
        if isinstance(node, ast.Constant) and node.value is None:
            return None, True
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value, True
        if isinstance(node, ast.Name) and node.id in self.int_constants:
            return self.int_constants[node.id], True
        return None, False

    def _for_tidb(self, node: ast.expr) -> ast.expr:
        """The part of ``A.with_variant(B, "mysql")`` TiDB uses (B), else the base type."""
        while True:
            call = node if isinstance(node, ast.Call) else None
            method = call.func if call is not None and isinstance(call.func, ast.Attribute) else None
            if call is None or method is None:
                return node
            if method.attr == "with_variant" and call.args:
                names = {arg.value for arg in call.args[1:] if isinstance(arg, ast.Constant)}
                node = call.args[0] if names & {"mysql", "tidb"} else method.value
            elif method.attr in {"evaluates_none", "copy"}:
                node = method.value
            else:
                return node

    def type_spec(self, node: ast.expr) -> TypeSpec | None:
        written = ast.unparse(node)
        node = self._for_tidb(node)
        call = node if isinstance(node, ast.Call) else None
        target = call.func if call is not None else node
        cls = self.resolve(target)
        if not (isinstance(cls, type) and issubclass(cls, satypes.TypeEngine)):
            return None
        storage: type[Any] | None = cls
        if issubclass(cls, satypes.TypeDecorator):
            impl = getattr(cls, "impl", None)
            storage = impl if isinstance(impl, type) else (type(impl) if isinstance(impl, satypes.TypeEngine) else None)
        keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg} if call is not None else {}
        arguments = call.args if call is not None else []
        length: int | None = None
        known = True
        timezone = False
        if storage is not None and issubclass(storage, (satypes.String, satypes._Binary)):
            length, known = self._int(arguments[0] if arguments else keywords.get("length"))
        if issubclass(cls, satypes.DateTime):
            flag = keywords.get("timezone", arguments[0] if arguments else None)
            timezone = isinstance(flag, ast.Constant) and flag.value is True
        text = written if len(written) <= 60 else written[:57] + "..."
        return TypeSpec(cls, storage, text, call is not None, length, known, timezone)

    def _is_mapped(self, annotation: ast.expr) -> ast.expr | None:
        """The X of ``Mapped[X]`` (also written as a string), else None."""
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                annotation = ast.parse(annotation.value, mode="eval").body
            except SyntaxError:
                return None
        if isinstance(annotation, ast.Subscript):
            mapped = self.resolve(annotation.value)
            if mapped is orm.Mapped or (mapped is None and isinstance(annotation.value, ast.Name)
                                        and annotation.value.id == "Mapped"):
                return annotation.slice
        return None

    def _python_type(self, node: ast.expr) -> str | None:
        """``builtins.str`` / ``datetime.datetime`` for the (optional) type in ``Mapped[...]``."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            for side in (node.left, node.right):
                if not (isinstance(side, ast.Constant) and side.value is None):
                    return self._python_type(side)
            return None
        if isinstance(node, ast.Subscript) and (self.qualname(node.value) or "").endswith("Optional"):
            return self._python_type(node.slice)
        if isinstance(node, ast.Name) and node.id == "str" and "str" not in self.aliases:
            return "builtins.str"
        return self.qualname(node)

    def _annotation_map_keys(self) -> set[str]:
        keys: set[str] = set()
        for _, mapping in self._annotation_maps():
            for key in mapping.keys:
                if key is not None:
                    name = self._python_type(key)
                    if name:
                        keys.add(name)
        keys |= self._portable_map_keys()
        return keys

    def _portable_map_keys(self) -> set[str]:
        """Python types mapped by ``type_annotation_map = tidb_compat.orm.portable_type_map()``."""
        from ..orm import portable_type_map

        for node in ast.walk(self.tree):
            if (
                isinstance(node, (ast.Assign, ast.AnnAssign))
                and isinstance(node.value, ast.Call)
                and self.resolve(node.value.func) is portable_type_map
                and any(
                    isinstance(t, ast.Name) and t.id == "type_annotation_map"
                    for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                )
            ):
                return {f"{k.__module__}.{k.__qualname__}" for k in portable_type_map() if isinstance(k, type)}
        return set()

    def _annotation_maps(self) -> Iterator[tuple[ast.AST, ast.Dict]]:
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if isinstance(node.value, ast.Dict) and any(
                    isinstance(t, ast.Name) and t.id == "type_annotation_map" for t in targets
                ):
                    yield node, node.value
            elif isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "type_annotation_map" and isinstance(keyword.value, ast.Dict):
                        yield node, keyword.value

    def column_specs(self) -> Iterator[ColumnSpec]:
        mapped_keys = self._annotation_map_keys()
        inferred_calls: set[int] = set()
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if isinstance(statement, ast.AnnAssign) and self.active(statement.target):
                        spec = self._inferred_spec(statement, mapped_keys)
                        if spec is not None:
                            if statement.value is not None:
                                inferred_calls.add(id(statement.value))
                            yield spec
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call) and self.active(node) and id(node) not in inferred_calls:
                factory = self.resolve(node.func)
                origin = "Column" if factory is sa.Column else "mapped_column" if factory is orm.mapped_column else None
                if origin:
                    spec = self._column_spec(node, origin)
                    if spec is not None:
                        yield spec
        for _, mapping in self._annotation_maps():
            for value in mapping.values:
                if self.active(value):
                    type_ = self.type_spec(value)
                    if type_ is not None:
                        yield ColumnSpec(value.lineno, "type_annotation_map", type_)

    def _explicit_type(self, call: ast.Call) -> tuple[TypeSpec | None, bool]:
        """(the type given to Column()/mapped_column(), whether a ForeignKey is given)."""
        foreign_key = any(
            isinstance(arg, ast.Call) and self.resolve(arg.func) is sa.ForeignKey for arg in call.args
        )
        for keyword in call.keywords:
            if keyword.arg == "type_":
                return self.type_spec(keyword.value), foreign_key
        for arg in call.args:
            if isinstance(arg, ast.Constant):
                continue
            spec = self.type_spec(arg)
            if spec is not None:
                return spec, foreign_key
        return None, foreign_key

    @staticmethod
    def _keys(call: ast.Call | None) -> tuple[str, ...]:
        if call is None:
            return ()
        return tuple(
            keyword.arg
            for keyword in call.keywords
            if keyword.arg in _COLUMN_KEYS and isinstance(keyword.value, ast.Constant) and keyword.value.value is True
        )

    def _column_spec(self, call: ast.Call, origin: str) -> ColumnSpec | None:
        type_, _ = self._explicit_type(call)
        if type_ is None:
            return None
        names = [arg.value for arg in call.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
        name = names[0] if names else None
        return ColumnSpec(call.lineno, origin, type_, self._keys(call), name)

    def _inferred_spec(self, statement: ast.AnnAssign, mapped_keys: set[str]) -> ColumnSpec | None:
        inner = self._is_mapped(statement.annotation)
        if inner is None:
            return None
        call = statement.value if isinstance(statement.value, ast.Call) else None
        if statement.value is not None:
            if call is None or self.resolve(call.func) is not orm.mapped_column:
                return None
            explicit, foreign_key = self._explicit_type(call)
            if explicit is not None or foreign_key:
                return None
        python_type = self._python_type(inner)
        annotation = ast.unparse(statement.annotation)
        name = statement.target.id if isinstance(statement.target, ast.Name) else None
        if python_type == "builtins.str" and python_type not in mapped_keys:
            spec = TypeSpec(sa.String, sa.String, annotation, inferred=True)
        elif python_type == "datetime.datetime" and python_type not in mapped_keys:
            spec = TypeSpec(sa.DateTime, sa.DateTime, annotation, inferred=True)
        else:
            return None
        return ColumnSpec(statement.lineno, "Mapped", spec, self._keys(call), name)

    # -- SQL strings ----------------------------------------------------------------------

    def _string_text(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(value.value)
                else:
                    parts.append("x")
            return "".join(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            left = self._string_text(node.left)
            if isinstance(node.op, ast.Mod):
                return left
            right = self._string_text(node.right)
            if left is None and right is None:
                return None
            return (left if left is not None else "x") + (right if right is not None else "x")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and isinstance(node.func.value, ast.Constant)
            and isinstance(node.func.value.value, str)
        ):
            return node.func.value.value
        return None

    def _sql_contexts(self) -> set[int]:
        sql_callables: set[object] = {sa.text, sa.literal_column, sa.DDL, sa.CheckConstraint, sa.Computed}
        contexts: set[int] = set()
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            target = self.resolve(node.func)
            is_sql_call = target is not None and _hashable(target) and target in sql_callables
            is_method = isinstance(node.func, ast.Attribute) and node.func.attr in _SQL_METHODS
            if (is_sql_call or is_method) and node.args:
                contexts.add(id(node.args[0]))
            for keyword in node.keywords:
                if keyword.arg in {"server_default", "server_onupdate", "sqltext"} or (
                    is_sql_call and keyword.arg == "text"
                ):
                    contexts.add(id(keyword.value))
        return contexts

    def sql_strings(self) -> Iterator[tuple[ast.AST, str]]:
        contexts = self._sql_contexts()
        consumed: set[int] = set()
        for node in ast.walk(self.tree):
            if id(node) in consumed:
                continue
            text = self._string_text(node)
            if text is None:
                continue
            for inner in ast.walk(node):
                consumed.add(id(inner))
            if not self.active(node) or id(node) in self.dialect_aware:
                continue
            parent = self.parent(node)
            if isinstance(parent, ast.Expr) and id(node) not in contexts:
                continue  # docstrings and other bare strings
            if id(node) in contexts or _SQL_STATEMENT.match(text):
                yield node, text

    def line_of(self, node: ast.AST, text: str, start: int, end: int) -> int:
        """The line of ``text[start:end]`` in the source of ``node``."""
        lineno = getattr(node, "lineno", 1)
        segment = ast.get_source_segment(self.source, node)
        needle = text[start:end]
        if not segment or not needle:
            return int(lineno)
        occurrence = text.count(needle, 0, start)
        position = -1
        for _ in range(occurrence + 1):
            position = segment.find(needle, position + 1)
            if position < 0:
                return int(lineno)
        return int(lineno) + segment.count("\n", 0, position)

    # -- setup.py -------------------------------------------------------------------------

    def setup_requirements(self) -> Iterator[Requirement]:
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name != "setup":
                continue
            for keyword in node.keywords:
                if keyword.arg in {"install_requires", "extras_require", "tests_require", "setup_requires"}:
                    for inner in ast.walk(keyword.value):
                        if isinstance(inner, ast.Constant) and isinstance(inner.value, str):
                            parent = self.parent(inner)
                            if isinstance(parent, ast.Dict) and inner in parent.keys:
                                continue
                            requirement = _requirement(inner.value, inner.lineno)
                            if requirement is not None:
                                yield requirement


def _hashable(obj: object) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _decode_python(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


def audit_python_source(source: str | bytes, path: str) -> list[Finding]:
    """Findings for one Python module (never imported)."""
    try:
        text = _decode_python(source) if isinstance(source, bytes) else source
        module = PythonModule(text, path)
    except (SyntaxError, UnicodeDecodeError, ValueError) as error:
        line = getattr(error, "lineno", None) or 0
        detail = getattr(error, "msg", None) or str(error)
        return [_finding(rule_by_id("TC000"), path, Hit(int(line), f"cannot parse: {detail}"))]
    suppressed = _python_suppressions(text)
    findings: set[Finding] = set()

    def add(rule: Rule, hit: Hit) -> None:
        if not _is_suppressed(suppressed, hit.line, rule.id):
            findings.add(_finding(rule, path, hit))

    for node in ast.walk(module.tree):
        if module.active(node):
            for rule in RULES:
                for hit in rule.check_node(node, module):
                    add(rule, hit)
    for spec in module.column_specs():
        for rule in RULES:
            for hit in rule.check_column(spec, module):
                add(rule, hit)
    for node, sql in module.sql_strings():
        for rule in RULES:
            for sql_hit in rule.check_sql(sql):
                line = module.line_of(node, sql, sql_hit.start, sql_hit.end)
                add(rule, Hit(line, sql_hit.message, sql_hit.hint))
    findings.update(_requirement_findings(module.setup_requirements(), path, suppressed))
    return sorted(findings)


# -- --metadata ----------------------------------------------------------------------------------


def load_metadata(spec: str, setting: str = "--metadata") -> sa.MetaData:
    """Import ``module:attr`` (``attr`` may be dotted) and return its MetaData (a declarative
    base gives its ``.metadata``); errors name ``setting``."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(setting, f"{spec!r}: expected module:attribute (e.g. app.models:Base)")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(module_name)
    except BaseException as error:  # a model module may raise anything, even SystemExit
        if isinstance(error, KeyboardInterrupt):
            raise
        detail = " ".join(str(error).split()) or type(error).__name__
        message = f"cannot import {module_name}: {type(error).__name__}: {detail}"
        raise ConfigurationError(setting, message) from None
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigurationError(setting, f"{module_name} has no attribute {attribute}") from None
    if isinstance(obj, sa.MetaData):
        return obj
    metadata = getattr(obj, "metadata", None)
    if isinstance(metadata, sa.MetaData):
        return metadata
    raise ConfigurationError(setting, f"{spec} is a {type(obj).__name__}, not a MetaData or a declarative base")


def _tidb_dialect() -> Dialect:
    from ..backends import load_backend

    return load_backend("tidb").dialect()


def _sql_of(element: object) -> str | None:
    if isinstance(element, str):
        return element
    if isinstance(element, saelements.TextClause):
        return element.text
    return None


def _function_names(element: object) -> Iterator[str]:
    if isinstance(element, safunctions.FunctionElement):
        name = getattr(element, "name", None)
        if isinstance(name, str):
            yield name.lower()


def _info_ignore(info: dict[Any, Any]) -> set[str]:
    """Rule IDs silenced by ``info={"tidb_compat_ignore": ["TC011"]}`` ("*" or True: all)."""
    value = info.get("tidb_compat_ignore")
    if value is True or value == _ALL:
        return {_ALL}
    if isinstance(value, str):
        return {value.upper()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return {str(item).upper() for item in value}
    return set()


def audit_metadata(metadata: sa.MetaData) -> list[Finding]:
    """Findings for every table of ``metadata`` (locations are ``table`` / ``table.column``,
    line 0).  ``info={"tidb_compat_ignore": ["TC011"]}`` on a Column or Table silences rules
    there (comments cannot be seen in this mode)."""
    target = _tidb_dialect()
    findings: set[Finding] = set()
    ignored: dict[str, set[str]] = {}
    for table in metadata.tables.values():
        table_ids = _info_ignore(table.info)
        ignored[table.fullname] = table_ids
        for column in table.columns:
            ignored[f"{table.fullname}.{column.name}"] = table_ids | _info_ignore(column.info)

    def add(rule: Rule, where: str, message: str, hint: str | None) -> None:
        ids = ignored.get(where, set())
        if _ALL not in ids and rule.id not in ids:
            findings.add(Finding(where, 0, rule.id, message, hint or rule.hint))

    def sql_and_functions(where: str, element: object) -> None:
        sql = _sql_of(element)
        if sql is not None:
            for rule in RULES:
                for hit in rule.check_sql(sql):
                    add(rule, where, hit.message, hit.hint)
        for name in _function_names(element):
            for rule in RULES:
                message = rule.check_function(name)
                if message:
                    add(rule, where, message, None)

    for table in sorted(metadata.tables.values(), key=lambda t: t.fullname):
        for rule in RULES:
            for hit in rule.check_table(table, target):
                add(rule, hit.location, hit.message, hit.hint)
        for column in table.columns:
            where = f"{table.fullname}.{column.name}"
            for default in (column.server_default, column.server_onupdate, column.default, column.onupdate):
                arg = getattr(default, "arg", None)
                if arg is not None and not callable(arg):
                    sql_and_functions(where, arg)
            computed = column.computed
            if computed is not None:
                sql_and_functions(where, computed.sqltext)
        for constraint in table.constraints:
            if isinstance(constraint, sa.CheckConstraint):
                sql_and_functions(table.fullname, constraint.sqltext)
        for index in table.indexes:
            for expression in index.expressions:
                sql_and_functions(table.fullname, expression)
    return sorted(findings)
