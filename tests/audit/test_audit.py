"""``tidb-compat audit``: rules on a PostgreSQL-era fixture, a clean portable fixture, dependency
files, ``--metadata`` mode, suppressions, directory walking and the command line contract."""

# The expectations quote PostgreSQL SQL: tidb-compat: ignore-file

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from tidb_compat.audit import RULES, Finding, audit, audit_metadata, audit_python_source, format_json, format_text
from tidb_compat.audit.runner import load_metadata
from tidb_compat.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_MODELS = FIXTURES / "pg_models.py"
PORTABLE_MODELS = FIXTURES / "portable_models.py"
REQUIREMENTS = FIXTURES / "requirements.txt"

# (rule, a snippet of the line it is reported on, which occurrence of the snippet)
PG_MODELS_EXPECTED = [
    ("TC001", "from sqlalchemy.dialects import postgresql", 1),
    ("TC001", "from sqlalchemy.dialects.postgresql import CITEXT", 1),
    ("TC001", "import insert as pg_insert", 1),
    ("TC002", "import psycopg2.extras", 1),
    ("TC010", 'Sequence("project_id_seq"', 1),
    ("TC003", "mapped_column(UUID, primary_key=True", 1),
    ("TC004", 'text("gen_random_uuid()")', 1),
    ("TC003", "mapped_column(CITEXT, unique=True)", 1),
    ("TC013", "mapped_column(CITEXT, unique=True)", 1),
    ("TC015", "display_name: Mapped[str]", 1),
    ("TC003", "Column(INET)", 1),
    ("TC012", "DateTime(timezone=True)", 1),
    ("TC005", "server_default=func.now()", 1),
    ("TC011", "mapped_column(onupdate=func.now())", 1),
    ("TC005", "mapped_column(onupdate=func.now())", 1),
    ("TC011", "deleted_at: Mapped[datetime.datetime | None]", 1),
    ("TC003", "mapped_column(JSONB,", 1),
    ("TC006", "'{}'::jsonb", 1),
    ("TC009", 'postgresql_using="gin"', 1),
    ("TC009", "postgresql_where=", 1),
    ("TC009", '"postgresql_partition_by"', 1),
    ("TC014", "String(1024), index=True", 1),
    ("TC013", "mapped_column(Text, index=True)", 1),
    ("TC003", "ARRAY(String(64))", 1),
    ("TC003", "mapped_column(TSVECTOR)", 1),
    ("TC003", "postgresql.TSTZRANGE", 1),
    ("TC011", "due = Column(sa.DateTime)", 1),
    ("TC003", "id BIGSERIAL PRIMARY KEY", 1),
    ("TC003", "event_id UUID NOT NULL", 1),
    ("TC004", "DEFAULT uuid_generate_v4()", 1),
    ("TC003", "user_id UUID REFERENCES", 1),
    ("TC003", "payload JSONB", 1),
    ("TC003", "created_at TIMESTAMPTZ", 1),
    ("TC005", "created_at TIMESTAMPTZ NOT NULL DEFAULT now()", 1),
    ("TC018", "p.title || ' ('", 1),
    ("TC007", "WHERE p.title ILIKE :term", 1),
    ("TC005", "AND p.created_at > now()", 1),
    ("TC018", "INTERVAL '30 days'", 1),
    ("TC008", ".returning(Project.id)", 1),
    ("TC016", "on_conflict_do_nothing", 1),
    ("TC017", "func.unnest(Project.tags)", 1),
    ("TC010", "SELECT nextval('invoice_seq')", 1),
    ("TC006", "SELECT id::text FROM users", 1),
    ("TC005", "SELECT id::text FROM users", 1),
    ("TC008", "VALUES %s RETURNING id", 1),
]


def line_of(path: Path, snippet: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if snippet in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{snippet!r} not found in {path.name}")


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidb_compat.cli", "audit", *args],
        capture_output=True, text=True, timeout=120, check=False, cwd=str(cwd),
    )


def pairs(findings: list[Finding]) -> set[tuple[str, int]]:
    return {(f.rule, f.line) for f in findings}


def audit_snippet(source: str, tmp_path: Path, name: str = "snippet.py") -> set[tuple[str, int]]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return {(f.rule, f.line) for f in audit([path]).findings}


# -- the fixtures ----------------------------------------------------------------------------------


def test_every_expected_finding_on_the_postgresql_models() -> None:
    expected = {(rule, line_of(PG_MODELS, snippet, nth)) for rule, snippet, nth in PG_MODELS_EXPECTED}
    found = {(f.rule, f.line) for f in audit([PG_MODELS]).findings}
    assert found - expected == set(), "unexpected findings"
    assert expected - found == set(), "missing findings"


def test_suppression_comments_and_portable_calls_give_no_finding() -> None:
    lines = {f.line for f in audit([PG_MODELS]).findings}
    assert line_of(PG_MODELS, "legacy_seen = Column(sa.DateTime") not in lines  # ignore[TC011]
    assert line_of(PG_MODELS, "deleted_at = Column(DateTime, nullable=True)") not in lines  # bare ignore
    assert line_of(PG_MODELS, "User.display_name.ilike(name)") not in lines  # .ilike() is portable
    assert line_of(PG_MODELS, "owner_id: Mapped[uuid.UUID]") not in lines  # type comes from the foreign key
    assert not any(f.line < 10 for f in audit([PG_MODELS]).findings)  # the docstring mentions RETURNING, ILIKE


def test_requirements_file() -> None:
    findings = audit([REQUIREMENTS]).findings
    assert pairs(findings) == {
        ("TC019", line_of(REQUIREMENTS, "psycopg2-binary==")),
        ("TC019", line_of(REQUIREMENTS, "asyncpg>=")),
    }
    assert all("psycopg2>=2.9" not in f.message for f in findings)  # suppressed with ignore[TC019]


def test_clean_portable_module_exits_zero() -> None:
    assert audit([PORTABLE_MODELS]).findings == []
    result = run_cli(str(PORTABLE_MODELS.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    metadata = run_cli("--metadata", "tests.audit.fixtures.portable_models:Base")
    assert metadata.returncode == 0, metadata.stdout + metadata.stderr


# -- the command line ------------------------------------------------------------------------------


def test_cli_json_output_and_exit_code() -> None:
    result = run_cli(str(PG_MODELS.relative_to(ROOT)), str(REQUIREMENTS.relative_to(ROOT)), "--format", "json")
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)
    assert isinstance(findings, list) and findings
    assert all(set(f) == {"rule", "path", "line", "message", "hint"} for f in findings)
    assert all(re.fullmatch(r"TC\d{3}", f["rule"]) and f["message"] and f["hint"] for f in findings)
    keys = [(f["path"], f["line"], f["rule"], f["message"]) for f in findings]
    assert keys == sorted(keys)
    models = "tests/audit/fixtures/pg_models.py"
    requirements = "tests/audit/fixtures/requirements.txt"
    got = {(f["path"], f["rule"], f["line"]) for f in findings}
    assert (models, "TC001", line_of(PG_MODELS, "from sqlalchemy.dialects import postgresql")) in got
    assert (models, "TC008", line_of(PG_MODELS, ".returning(Project.id)")) in got
    assert (requirements, "TC019", line_of(REQUIREMENTS, "psycopg2-binary")) in got
    assert len(findings) == len(PG_MODELS_EXPECTED) + 2


def test_cli_text_output_format() -> None:
    result = run_cli(str(PG_MODELS.relative_to(ROOT)))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == len(PG_MODELS_EXPECTED)
    pattern = re.compile(r"^tests/audit/fixtures/pg_models\.py:(\d+): (TC\d{3}) .+ \(hint: .+\)$")
    parsed = []
    for line in lines:
        match = pattern.match(line)
        assert match, line
        parsed.append((int(match.group(1)), match.group(2)))
    assert parsed == sorted(parsed)
    ilike = line_of(PG_MODELS, "WHERE p.title ILIKE")
    assert any(line.startswith(f"tests/audit/fixtures/pg_models.py:{ilike}: TC007 ") for line in lines)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["no/such/dir"], "does not exist"),
        (["README.md"], "is not a .py"),
        (["--metadata", "no_such_module_xyz:Base"], "cannot import no_such_module_xyz"),
        (["--metadata", "tests.audit.fixtures.pg_models"], "expected module:attribute"),
        (["--metadata", "tests.audit.fixtures.pg_models:Nope"], "has no attribute Nope"),
        (["--metadata", "tests.audit.fixtures.pg_models:search_projects"], "not a MetaData"),
    ],
)
def test_cli_configuration_errors_exit_2_with_one_line(args: list[str], expected: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_metadata_module_that_raises_on_import(tmp_path: Path) -> None:
    (tmp_path / "broken_models.py").write_text("raise RuntimeError('no database configured\\nat all')\n")
    result = run_cli("--metadata", "broken_models:Base", cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "RuntimeError: no database configured at all" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_default_path_and_list_rules(tmp_path: Path) -> None:
    (tmp_path / "models.py").write_text("from sqlalchemy.dialects.postgresql import JSONB\n")
    result = run_cli(cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("models.py:1: TC001 ")
    listing = run_cli("--list-rules")
    assert listing.returncode == 0
    assert [rule.id for rule in RULES] == re.findall(r"^(TC\d{3}) ", listing.stdout, re.MULTILINE)


# -- --metadata ------------------------------------------------------------------------------------


def test_metadata_mode_on_the_fixture_models() -> None:
    result = run_cli("--metadata", "tests.audit.fixtures.pg_models:Base", "--format", "json")
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)
    assert all(f["line"] == 0 for f in findings)
    got = {(f["rule"], f["path"]) for f in findings}
    expected = {
        ("TC003", "users.id"),  # native UUID
        ("TC004", "users.id"),  # server_default gen_random_uuid()
        ("TC003", "users.email"),  # CITEXT
        ("TC013", "users.email"),  # CITEXT in a unique constraint
        ("TC015", "users.display_name"),  # Mapped[str] -> String()
        ("TC003", "users.last_login_ip"),
        ("TC012", "users.created_at"),
        ("TC005", "users.created_at"),
        ("TC011", "users.updated_at"),
        ("TC003", "users.settings"),
        ("TC006", "users.settings"),
        ("TC009", "projects"),
        ("TC010", "projects.id"),
        ("TC014", "projects"),
        ("TC013", "projects.body"),
        ("TC003", "projects.tags"),
        ("TC003", "projects.search"),
        ("TC003", "projects.period"),
        ("TC011", "projects.due"),
    }
    assert expected <= got, expected - got
    assert not any(path == "users.legacy_seen" for _, path in got)  # info={"tidb_compat_ignore": [...]}
    oversized = [f["message"] for f in findings if f["rule"] == "TC014"]
    assert any("ix_projects_slug takes 4096 bytes" in message for message in oversized)
    # a declarative base, its .metadata, or the MetaData itself
    assert load_metadata("tests.audit.fixtures.pg_models:Base.metadata") is load_metadata(
        "tests.audit.fixtures.pg_models:Base"
    )


def test_metadata_key_sizes_sum_columns_and_honour_prefixes() -> None:
    metadata = sa.MetaData()
    sa.Table(
        "documents", metadata,
        sa.Column("tenant", sa.String(500), primary_key=True),
        sa.Column("path", sa.String(300), primary_key=True),  # PK: 2000 + 1200 bytes
        sa.Column("title", sa.String(700)),
        sa.Column("lang", sa.String(100)),
        sa.Column("body", sa.Text()),
        sa.Column("notes", sa.Text()),
        sa.Column("ascii_code", sa.String(1000, collation="ascii_bin")),
        sa.Index("ix_title_lang", "title", "lang"),  # 2800 + 400 bytes
        sa.Index("ix_title_prefix", "title", "lang", mysql_length={"title": 191}),  # 764 + 400
        sa.Index("ix_body_prefix", "body", mysql_length=255),  # a TEXT prefix: fine
        sa.Index("ix_notes", "notes"),  # TEXT without prefix
    )
    findings = audit_metadata(metadata)
    oversized = {f.message.split(" takes ")[0] for f in findings if f.rule == "TC014"}
    assert oversized == {"the primary key", "index ix_title_lang"}
    assert {(f.rule, f.path) for f in findings if f.rule == "TC013"} == {("TC013", "documents.notes")}


# -- single rules ----------------------------------------------------------------------------------


def test_key_length_boundary_and_unbounded_keys(tmp_path: Path) -> None:
    found = audit_snippet(
        """
        import sqlalchemy as sa

        t = sa.Table(
            "t", sa.MetaData(),
            sa.Column("a", sa.String(768), unique=True),
            sa.Column("b", sa.String(769), unique=True),
            sa.Column("c", sa.String, primary_key=True),
            sa.Column("d", sa.LargeBinary, index=True),
            sa.Column("e", sa.Unicode()),
            sa.Column("f", sa.Text),
        )
        """,
        tmp_path,
    )
    assert found == {("TC014", 7), ("TC013", 8), ("TC013", 9), ("TC015", 10)}


def test_postgresql_only_code_is_not_reported(tmp_path: Path) -> None:
    found = audit_snippet(
        '''
        """Docstrings may say RETURNING, ILIKE, x::text and now()."""
        import sqlalchemy as sa
        from sqlalchemy.dialects import postgresql
        from sqlalchemy.ext.compiler import compiles


        def load_dialect_impl(dialect):
            if dialect.name != "postgresql":
                return dialect.type_descriptor(sa.JSON())
            return dialect.type_descriptor(postgresql.JSONB())


        def storage(dialect):
            return postgresql.ARRAY(sa.Integer) if dialect.name == "postgresql" else sa.JSON()


        def is_json(type_):
            return isinstance(type_, (sa.JSON, postgresql.JSONB))


        Tags = sa.JSON().with_variant(postgresql.ARRAY(sa.String(20)), "postgresql")


        @compiles(sa.sql.functions.now, "postgresql")
        def _now(element, compiler, **kw):
            return "statement_timestamp()::timestamptz"


        def server_offset(connection):
            if connection.dialect.name != "postgresql":
                return connection.execute(sa.text("SELECT TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), NOW())"))
            return connection.execute(sa.text("SELECT EXTRACT(TIMEZONE FROM now())"))


        def insert(connection, statement, features):
            if features.supports_returning:
                return connection.execute(statement.returning(sa.column("id")))
            return connection.execute(statement)
        ''',
        tmp_path,
    )
    assert found == set()


def test_sql_strings_and_python_calls(tmp_path: Path) -> None:
    found = audit_snippet(
        """
        import sqlalchemy as sa
        from sqlalchemy import func

        users = sa.table("users", sa.column("email"))
        q1 = sa.select(users).where(users.c.email.ilike("%x%"))
        q2 = sa.text("SELECT * FROM users WHERE email ILIKE :p")
        q3 = "UPDATE users SET tags = tags || :tag WHERE id = :id"
        q4 = sa.select(func.string_agg(users.c.email, ","))
        q5 = sa.select(func.aggregate_strings(users.c.email, ","))
        message = "Select the users you want to invite"
        seq = sa.Sequence("user_ids")
        """,
        tmp_path,
    )
    assert found == {("TC007", 7), ("TC018", 8), ("TC017", 9), ("TC010", 12)}


def test_import_forms(tmp_path: Path) -> None:
    found = audit_snippet(
        """
        import sqlalchemy.dialects.postgresql as pg
        import sqlalchemy.dialects.postgresql
        import asyncpg
        from psycopg import sql

        kind = pg.JSONB()
        other = sqlalchemy.dialects.postgresql.HSTORE()
        """,
        tmp_path,
    )
    assert found == {("TC001", 2), ("TC001", 3), ("TC002", 4), ("TC002", 5), ("TC003", 7), ("TC003", 8)}


def test_mapped_annotations_follow_type_annotation_map(tmp_path: Path) -> None:
    found = audit_snippet(
        """
        from datetime import datetime

        from sqlalchemy import DateTime, String
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            type_annotation_map = {str: String(100)}


        class Event(Base):
            __tablename__ = "events"
            id: Mapped[int] = mapped_column(primary_key=True)
            name: Mapped[str]
            at: Mapped[datetime]
            seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
        """,
        tmp_path,
    )
    assert found == {("TC011", 16), ("TC012", 17)}


def test_suppression_forms(tmp_path: Path) -> None:
    source = """
        import sqlalchemy as sa

        a = sa.Column(sa.DateTime)  # tidb-compat: ignore[TC011]
        b = sa.Column(sa.DateTime)  # tidb-compat: ignore[TC003]
        c = sa.Column(sa.DateTime)  # tidb-compat: ignore[TC003, TC011]
        d = sa.Column(sa.DateTime)  # tidb-compat: ignore
        e = sa.Column(sa.DateTime)  # tidb-compat ignore (no colon: not a directive)
        f = sa.Column("# tidb-compat: ignore", sa.DateTime)
        """
    assert audit_snippet(source, tmp_path) == {("TC011", 5), ("TC011", 8), ("TC011", 9)}
    whole_file = "# tidb-compat: ignore-file[TC011]\n" + textwrap.dedent(source)
    assert audit_snippet(whole_file, tmp_path, "whole.py") == set()


def test_unparsable_file_is_reported(tmp_path: Path) -> None:
    assert audit_snippet("def broken(:\n    pass\n", tmp_path) == {("TC000", 1)}


# -- dependency files and walking ------------------------------------------------------------------


def test_pyproject_setup_cfg_and_setup_py(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [project]
            name = "svc"
            dependencies = [
                "SQLAlchemy[asyncio]>=2.0",
                "asyncpg>=0.29",
            ]

            [project.optional-dependencies]
            postgres = ["psycopg[binary]>=3.1"]
            legacy = ["psycopg2-binary"]

            [tool.mypy]
            overrides = [{ module = ["psycopg2.*"], ignore_missing_imports = true }]

            [tool.poetry.dependencies]
            python = "^3.11"
            psycopg2 = "^2.9"
            """
        )
    )
    (tmp_path / "setup.cfg").write_text(
        textwrap.dedent(
            """
            [metadata]
            name = svc

            [options]
            install_requires =
                sqlalchemy[postgresql_psycopg2binary]>=2.0
                pymysql

            [options.extras_require]
            pg = asyncpg
            """
        )
    )
    (tmp_path / "setup.py").write_text('from setuptools import setup\n\nsetup(install_requires=["psycopg2>=2.9"])\n')
    found = {(Path(f.path).name, f.rule, f.line) for f in audit([tmp_path]).findings}
    assert found == {
        ("pyproject.toml", "TC019", 6),
        ("pyproject.toml", "TC019", 11),
        ("pyproject.toml", "TC019", 18),
        ("setup.cfg", "TC019", 7),
        ("setup.cfg", "TC019", 11),
        ("setup.py", "TC019", 3),
    }


def test_walk_skips_tool_and_virtualenv_directories(tmp_path: Path) -> None:
    bad = "from sqlalchemy.dialects.postgresql import JSONB\n"
    for skipped in (".venv", ".nox/lint/lib", "build/lib", "__pycache__", "lib/site-packages/pkg", "myenv"):
        (tmp_path / skipped).mkdir(parents=True)
        (tmp_path / skipped / "mod.py").write_text(bad)
    (tmp_path / "myenv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "models.py").write_text(bad)
    (tmp_path / "app" / "generated.py").write_text(bad)
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "prod.txt").write_text("asyncpg\n")
    (tmp_path / "dev-requirements.txt").write_text("psycopg2\n")
    (tmp_path / "notes.txt").write_text("psycopg2\n")
    result = audit([tmp_path], exclude=["generated.py"])
    assert result.files == 3
    assert sorted(Path(f.path).relative_to(tmp_path).as_posix() for f in result.findings) == [
        "app/models.py",
        "dev-requirements.txt",
        "requirements/prod.txt",
    ]


def test_missing_path_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        audit([tmp_path / "nope"])


def test_reporters() -> None:
    findings = audit_python_source("import asyncpg\n", "x.py")
    assert format_text(findings) == f"x.py:1: TC002 {findings[0].message} (hint: {findings[0].hint})\n"
    assert json.loads(format_json(findings)) == [findings[0].as_dict()]
    assert format_text([]) == "" and json.loads(format_json([])) == []


def test_rule_catalogue() -> None:
    ids = [rule.id for rule in RULES]
    assert ids == sorted(set(ids))
    for rule in RULES:
        assert re.fullmatch(r"TC\d{3}", rule.id)
        assert rule.title and rule.hint
        assert (type(rule).__doc__ or "").startswith(f"{rule.id}: "), type(rule).__name__


PORTABLE_MAP_MODULE = """
import datetime as dt
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from tidb_compat.orm import portable_type_map


class Base(DeclarativeBase):
    type_annotation_map = {MAP}


class Event(Base):
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime]
"""


def test_portable_type_map_makes_mapped_datetime_portable() -> None:
    portable = audit_python_source(PORTABLE_MAP_MODULE.replace("{MAP}", "portable_type_map()"), "m.py")
    assert [f.rule for f in portable] == []
    naive = audit_python_source(PORTABLE_MAP_MODULE.replace("{MAP}", "{}"), "m.py")
    assert [f.rule for f in naive] == ["TC011"]
