"""DDL and SQL compiled for each backend, TiDB included (no server needed), and the
multi-valued index against the session's server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

import tidb_compat
from tidb_compat import PortableArray, PortableJSON, UTCDateTime, load_backend, multi_valued_index, utcnow
from tidb_compat.types.array import _supports_multi_valued_index

metadata = sa.MetaData()
docs = sa.Table(
    "docs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime(), server_default=utcnow(), nullable=False),
    sa.Column("body", PortableJSON()),
    sa.Column("tags", PortableArray(sa.String(20))),
    sa.Column("ids", PortableArray(sa.Uuid)),
    sa.Column("scores", PortableArray(sa.Integer)),
)
tags_index = multi_valued_index("ix_docs_tags", docs.c.tags)

EXPECTED_DDL = {
    "tidb": ["at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)", "body JSON", "tags JSON", "ids JSON"],
    "mysql": ["at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)", "body JSON", "tags JSON"],
    "mariadb": ["at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)", "`body` JSON", "tags JSON"],
    "postgresql": ["at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL", "body JSONB",
                   "tags VARCHAR(20)[]", "ids UUID[]", "scores INTEGER[]"],
    "sqlite": ["at VARCHAR(26) DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now') || '000') NOT NULL",
               "body TEXT", "tags TEXT"],
}


@pytest.mark.parametrize("vendor", sorted(EXPECTED_DDL))
def test_ddl_per_backend(vendor: str) -> None:
    ddl = str(CreateTable(docs).compile(dialect=load_backend(vendor).dialect()))
    for fragment in EXPECTED_DDL[vendor]:
        assert fragment in ddl, (fragment, ddl)


def _sql(vendor: str, statement: sa.ClauseElement) -> str:
    return str(statement.compile(dialect=load_backend(vendor).dialect()))


def test_tidb_queries_use_member_of_and_json_overlaps() -> None:
    sql = _sql("tidb", sa.select(docs.c.id).where(docs.c.body.contains({"a": [1]}), docs.c.tags.overlap(["x"])))
    assert "MEMBER OF (JSON_EXTRACT(docs.body" in sql
    assert "JSON_OVERLAPS(docs.tags" in sql
    assert "JSON_TABLE" not in sql  # TiDB has no JSON_TABLE
    assert "RETURNING" not in _sql("tidb", docs.insert().values(body={"a": 1}))


def test_mariadb_queries_avoid_member_of() -> None:
    sql = _sql("mariadb", sa.select(docs.c.id).where(docs.c.body.contains({"a": [1]})))
    assert "MEMBER OF" not in sql
    assert "JSON_TABLE" in sql and "JSON_EQUALS" in sql


def test_postgresql_queries_use_native_operators() -> None:
    sql = _sql("postgresql", sa.select(docs.c.id).where(docs.c.body.contains({"a": 1}), docs.c.scores.contains([1])))
    assert "docs.body @> " in sql
    assert "docs.scores @> CAST(" in sql and "AS INTEGER[])" in sql


def test_multi_valued_index_ddl() -> None:
    assert _sql("tidb", CreateIndex(tags_index)) == "CREATE INDEX ix_docs_tags ON docs ((CAST(tags AS CHAR(20) ARRAY)))"
    scores = multi_valued_index("ix_docs_scores", docs.c.scores)
    assert "CAST(scores AS SIGNED ARRAY)" in _sql("tidb", CreateIndex(scores))
    assert _sql("postgresql", CreateIndex(tags_index)) == "CREATE INDEX ix_docs_tags ON docs USING gin (tags)"
    with pytest.raises(TypeError):
        multi_valued_index("ix_bad", docs.c.body)


@pytest.mark.parametrize(
    ("vendor", "version", "created"),
    [("tidb", (7, 1, 0), True), ("tidb", (7, 0, 0), False), ("tidb", None, True), ("mysql", (8, 0, 17), True),
     ("mysql", (8, 0, 16), False), ("mariadb", None, False), ("postgresql", None, True), ("sqlite", None, False)],
)
def test_multi_valued_index_only_where_supported(vendor: str, version: tuple[int, ...] | None, created: bool) -> None:
    engine = tidb_compat.create_engine(
        "sqlite://" if vendor == "sqlite" else
        ("postgresql+psycopg://u@db.invalid/x" if vendor == "postgresql" else "mysql+pymysql://u@db.invalid/x"),
        backend=vendor,
    )
    try:
        from tidb_compat.backends import binding_for

        binding = binding_for(engine.dialect)
        binding.backend = load_backend(vendor, version)
        assert _supports_multi_valued_index(CreateIndex(tags_index), docs, None, dialect=engine.dialect) is created
    finally:
        engine.dispose()


@pytest.fixture
def indexed_table(engine: sa.Engine) -> Iterator[sa.Table]:
    md = sa.MetaData()
    table = sa.Table(
        "tc_mvindex",
        md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("tags", PortableArray(sa.String(20))),
    )
    multi_valued_index("ix_tc_mvindex_tags", table.c.tags)
    md.drop_all(engine)
    md.create_all(engine)
    yield table
    md.drop_all(engine)


def test_multi_valued_index_on_the_server(engine: sa.Engine, indexed_table: sa.Table) -> None:
    backend = tidb_compat.get_backend(engine)
    names = {ix["name"] for ix in sa.inspect(engine).get_indexes(indexed_table.name)}
    assert ("ix_tc_mvindex_tags" in names) is backend.features.supports_multi_valued_index
    with engine.begin() as connection:
        connection.execute(indexed_table.insert(), [{"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": ["c"]}])
        found = connection.execute(sa.select(indexed_table.c.id).where(indexed_table.c.tags.contains(["b"])))
        assert found.scalars().all() == [1]


def test_literal_rendering_for_offline_sql() -> None:
    when = dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    statement = docs.insert().values(id=1, at=when, body={"k": "it's"}, tags=["a"])
    tidb = str(statement.compile(dialect=load_backend("tidb").dialect(), compile_kwargs={"literal_binds": True}))
    assert "'2024-01-02 03:04:05.000006'" in tidb
    assert """'{"k":"it''s"}'""" in tidb
    sqlite = str(statement.compile(dialect=load_backend("sqlite").dialect(), compile_kwargs={"literal_binds": True}))
    assert "'2024-01-02 03:04:05.000006'" in sqlite
    pg = str(statement.compile(dialect=load_backend("postgresql").dialect(), compile_kwargs={"literal_binds": True}))
    assert "CAST(ARRAY['a'] AS VARCHAR(20)[])" in pg
