"""JSON and array queries return the same rows on every backend (PostgreSQL semantics)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tidb_compat import PortableArray, PortableJSON, PortableValueError, json_contains, json_path_text

DOCS: dict[int, Any] = {
    1: {"a": [1, 2], "s": "x"},
    2: {"a": 1, "s": "X"},
    3: {"a": [[1, 2]]},
    4: [1, 2, "x"],
    5: "x",
    6: {"n": None, "b": True, "f": 1.5, "i": 10, "big": 1e16},
    7: {"nested": {"deep": {"k": "v", "n": 2}}, "tags": ["red", "blue"]},
    8: {"a": {"b": 1}},
    9: [[1], {"k": 1}],
    10: {"i": 10.0},
    11: 10,
    12: {"s": "x "},
    13: {"empty": [], "obj": {}},
}

# candidate -> ids, as PostgreSQL's jsonb @> answers
CONTAINS: list[tuple[Any, set[int]]] = [
    ({"a": 1}, {2}),  # MySQL/MariaDB JSON_CONTAINS would also say 1
    ({"a": [1]}, {1}),
    ({"a": [1, 2]}, {1}),
    ({"a": [2, 1, 1]}, {1}),
    ({"s": "x"}, {1}),  # case-sensitive: not 2, not 12
    ({"s": "X"}, {2}),
    ("x", {4, 5}),  # a top-level array contains a top-level scalar element
    (1, {4}),
    (10, {11}),
    ([1], {4}),
    (["x", 2], {4}),
    ([], {4, 9}),
    ({}, {1, 2, 3, 6, 7, 8, 10, 12, 13}),
    ({"n": None}, {6}),
    ({"b": True}, {6}),
    ({"b": 1}, set()),  # true is not 1
    ({"f": 1.5}, {6}),
    ({"i": 10}, {6, 10}),  # numbers compare numerically: 10 == 10.0
    ({"big": 1e16}, {6}),
    ({"nested": {"deep": {"k": "v"}}}, {7}),
    ({"nested": {"deep": {"n": 2.0}}}, {7}),
    ({"tags": ["blue"]}, {7}),
    ({"tags": "blue"}, set()),  # nested scalar vs array: no special case below the top
    ({"a": {"b": 1}}, {8}),
    ({"a": {}}, {8}),
    ({"empty": []}, {13}),
    ({"obj": {}}, {13}),
    ({"missing": None}, set()),
]

PATHS: list[tuple[tuple[str | int, ...], Any, set[int]]] = [
    (("s",), "x", {1}),
    (("s",), "X", {2}),
    (("s",), "x ", {12}),
    (("a", 1), "2", {1}),
    (("b",), "true", {6}),
    (("i",), "10", {6}),
    (("nested", "deep", "k"), "v", {7}),
    (("tags", 0), "red", {7}),
]


@pytest.fixture(scope="module")
def docs(engine: sa.Engine) -> Iterator[sa.Table]:
    md = sa.MetaData()
    t = sa.Table(
        "tc_query_docs",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("doc", PortableJSON()),
    )
    md.drop_all(engine)
    md.create_all(engine)
    with engine.begin() as connection:
        connection.execute(t.insert(), [{"id": k, "doc": v} for k, v in DOCS.items()])
        connection.execute(t.insert(), [{"id": 99, "doc": None}])
    yield t
    md.drop_all(engine)


def _ids(engine: sa.Engine, query: sa.Select[Any]) -> set[int]:
    with engine.connect() as connection:
        return set(connection.execute(query).scalars().all())


@pytest.mark.parametrize(("candidate", "expected"), CONTAINS, ids=[repr(c) for c, _ in CONTAINS])
def test_contains_follows_postgresql(engine: sa.Engine, docs: sa.Table, candidate: Any, expected: set[int]) -> None:
    assert _ids(engine, sa.select(docs.c.id).where(docs.c.doc.contains(candidate))) == expected
    assert _ids(engine, sa.select(docs.c.id).where(json_contains(docs.c.doc, candidate))) == expected


@pytest.mark.parametrize(("path", "text", "expected"), PATHS, ids=[repr(p) for p, _, _ in PATHS])
def test_path_text_follows_postgresql(engine: sa.Engine, docs: sa.Table, path: tuple[str | int, ...], text: str,
                                      expected: set[int]) -> None:
    assert _ids(engine, sa.select(docs.c.id).where(docs.c.doc.path_text(*path) == text)) == expected
    assert _ids(engine, sa.select(docs.c.id).where(json_path_text(docs.c.doc, *path) == text)) == expected


def test_path_text_selects_text_and_sql_null(engine: sa.Engine, docs: sa.Table) -> None:
    query = sa.select(docs.c.id, docs.c.doc.path_text("n"), docs.c.doc.path_text("s")).where(docs.c.id.in_([6, 1]))
    with engine.connect() as connection:
        rows = {row[0]: tuple(row[1:]) for row in connection.execute(query)}
    assert rows == {6: (None, None), 1: (None, "x")}


@pytest.mark.parametrize(
    "candidate",
    [{"a": [{"b": 1}]}, [[1]], {"a": [[]]}, {"x": float("nan")}, {1: 2}],
)
def test_non_portable_candidates_are_refused(docs: sa.Table, candidate: Any) -> None:
    with pytest.raises(PortableValueError):
        docs.c.doc.contains(candidate)


@pytest.mark.parametrize("path", [("a\"b",), ("a\\b",), (-1,), (1.5,), (True,)])
def test_bad_paths_are_refused(docs: sa.Table, path: tuple[Any, ...]) -> None:
    with pytest.raises(PortableValueError):
        docs.c.doc.path_text(*path)


U1, U2, U3 = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
ARRAYS = {
    1: {"strs": ["a", "b"], "ints": [1, 2, 3], "bools": [True], "uuids": [U1, U2], "floats": [1.5]},
    2: {"strs": ["A"], "ints": [3], "bools": [False, False], "uuids": [U3], "floats": [2.0, 1.5]},
    3: {"strs": [], "ints": [], "bools": [], "uuids": [], "floats": []},
    4: {"strs": ["b", "b"], "ints": [-1, 2], "bools": [True, False], "uuids": [U2], "floats": [1.0]},
    5: {"strs": ["a "], "ints": [], "bools": [], "uuids": [], "floats": []},
}
ARRAY_QUERIES: list[tuple[str, str, list[Any], set[int]]] = [
    ("strs", "contains", ["a"], {1}),
    ("strs", "contains", ["b"], {1, 4}),
    ("strs", "contains", ["a", "b"], {1}),
    ("strs", "contains", ["A"], {2}),
    ("strs", "contains", [], {1, 2, 3, 4, 5}),
    ("strs", "contains", ["a "], {5}),
    ("strs", "overlap", ["a", "A"], {1, 2}),
    ("strs", "overlap", [], set()),
    ("ints", "contains", [2, 3], {1}),
    ("ints", "overlap", [3, -1], {1, 2, 4}),
    ("bools", "contains", [True, False], {4}),
    ("bools", "overlap", [False], {2, 4}),
    ("uuids", "contains", [U2], {1, 4}),
    ("uuids", "overlap", [U1, U3], {1, 2}),
    ("floats", "contains", [1.5], {1, 2}),
    ("floats", "overlap", [1], {4}),
]


@pytest.fixture(scope="module")
def arrays(engine: sa.Engine) -> Iterator[sa.Table]:
    md = sa.MetaData()
    t = sa.Table(
        "tc_query_arrays",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("strs", PortableArray(sa.String(10))),
        sa.Column("ints", PortableArray(sa.Integer)),
        sa.Column("bools", PortableArray(sa.Boolean)),
        sa.Column("uuids", PortableArray(sa.Uuid)),
        sa.Column("floats", PortableArray(sa.Float)),
    )
    md.drop_all(engine)
    md.create_all(engine)
    with engine.begin() as connection:
        connection.execute(t.insert(), [{"id": k, **v} for k, v in ARRAYS.items()])
        connection.execute(t.insert(), [{"id": 99}])
    yield t
    md.drop_all(engine)


@pytest.mark.parametrize(("column", "op", "values", "expected"), ARRAY_QUERIES,
                         ids=[f"{c}-{o}-{v}" for c, o, v, _ in ARRAY_QUERIES])
def test_array_queries_follow_postgresql(engine: sa.Engine, arrays: sa.Table, column: str, op: str,
                                         values: list[Any], expected: set[int]) -> None:
    expression = getattr(arrays.c[column], op)(values)
    assert _ids(engine, sa.select(arrays.c.id).where(expression)) == expected


def test_statement_cache_is_used(engine: sa.Engine, docs: sa.Table, arrays: sa.Table) -> None:
    """cache_ok types and the helpers keep SQLAlchemy's compiled-statement cache on."""
    queries = [
        lambda: sa.select(docs.c.id).where(docs.c.id == 1, docs.c.doc.contains({"a": [1]})),
        lambda: sa.select(docs.c.id).where(docs.c.doc.path_text("s") == "x"),
        lambda: sa.select(arrays.c.id).where(arrays.c.strs.overlap(["a"])),
        lambda: sa.select(docs.c.doc).where(docs.c.id == 1),
    ]
    with engine.connect() as connection:
        for make in queries:
            connection.execute(make()).all()
            result = connection.execute(make())
            assert result.context._get_cache_stats().startswith("cached since"), make
            result.all()
