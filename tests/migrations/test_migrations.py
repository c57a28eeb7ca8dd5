"""Alembic template and migration API on the session's backend: autogenerate renders portable
types, upgrade creates what the models say (checked by reflection), a second autogenerate is
empty, downgrade returns to an empty database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

import tidb_compat
from tidb_compat import DatabaseSettings
from tidb_compat.migrations import TEMPLATE_DIR, check, current, downgrade, make_config, revision, upgrade

from .sample_models import Base

TABLES = {"mig_accounts", "mig_projects"}


def _drop_everything(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        inspector = sa.inspect(connection)
        names = set(inspector.get_table_names())
        for name in ("mig_projects", "mig_children", "mig_parents", "mig_accounts", "alembic_version"):
            if name in names:
                connection.execute(sa.text(f"DROP TABLE {connection.dialect.identifier_preparer.quote(name)}"))


@pytest.fixture
def clean(engine: sa.Engine) -> Iterator[None]:
    _drop_everything(engine)
    yield
    _drop_everything(engine)


@pytest.fixture
def scripts(tmp_path: Path) -> Path:
    """A migration environment made from the shipped template."""
    directory = tmp_path / "migrations"
    config = make_config(directory, ini_file=tmp_path / "alembic.ini")
    command.init(config, str(directory), template=str(TEMPLATE_DIR))
    assert "tidb_compat.env_prefix" in (tmp_path / "alembic.ini").read_text()
    return directory


def test_template_env_uses_tidb_compat(scripts: Path) -> None:
    env = (scripts / "env.py").read_text()
    assert "from tidb_compat.migrations import run_env" in env
    assert (scripts / "script.py.mako").exists()


def test_autogenerate_upgrade_check_downgrade(engine: sa.Engine, database_url: str, scripts: Path,
                                              clean: None) -> None:
    settings = DatabaseSettings.from_url(database_url)
    path = revision(settings, "initial", script_location=scripts, metadata=Base.metadata)
    text = Path(path).read_text()
    assert "import tidb_compat" in text
    assert "tidb_compat.PortableJSON()" in text
    assert "tidb_compat.PortableArray(sa.String(length=32))" in text
    assert "tidb_compat.UTCDateTime()" in text
    assert "tidb_compat.utcnow()" in text
    assert "postgresql." not in text and "mysql." not in text and "sqlite." not in text

    upgrade(settings, script_location=scripts)
    assert current(settings) is not None
    _assert_schema(engine)
    _assert_behaviour(engine)

    # The model is unchanged since the migration: no drift, and autogenerate writes nothing.
    assert check(settings, script_location=scripts, metadata=Base.metadata) == 0

    downgrade(settings, "base", script_location=scripts)
    assert TABLES.isdisjoint(sa.inspect(engine).get_table_names())
    assert current(settings) is None
    # Up again after down: the round trip is repeatable.
    upgrade(settings, script_location=scripts)
    assert set(sa.inspect(engine).get_table_names()) >= TABLES
    downgrade(settings, "base", script_location=scripts)


def _assert_schema(engine: sa.Engine) -> None:
    inspector = sa.inspect(engine)
    assert set(inspector.get_table_names()) >= TABLES
    indexes = {ix["name"]: ix for ix in inspector.get_indexes("mig_projects")}
    assert indexes["ix_mig_projects_owner_id"]["column_names"] == ["owner_id"]
    assert indexes["ix_mig_projects_status_title"]["column_names"] == ["status", "title"]
    assert not indexes["ix_mig_projects_status_title"]["unique"]
    uniques = {uc["name"]: uc["column_names"] for uc in inspector.get_unique_constraints("mig_projects")}
    unique_indexes = {n: ix["column_names"] for n, ix in indexes.items() if ix["unique"]}
    assert ["owner_id", "title"] in list(uniques.values()) + list(unique_indexes.values())
    account_uniques = [uc["column_names"] for uc in inspector.get_unique_constraints("mig_accounts")]
    account_uniques += [ix["column_names"] for ix in inspector.get_indexes("mig_accounts") if ix["unique"]]
    assert ["email"] in account_uniques
    fks = {fk["constrained_columns"][0]: fk for fk in inspector.get_foreign_keys("mig_projects")}
    assert fks["owner_id"]["referred_table"] == "mig_accounts"
    assert fks["owner_id"]["options"].get("ondelete", "").upper() == "CASCADE"
    assert fks["reviewer_id"]["options"].get("ondelete", "").upper() == "SET NULL"
    columns = {c["name"]: c for c in inspector.get_columns("mig_accounts")}
    assert columns["created_at"]["default"] is not None
    assert columns["active"]["default"] is not None
    project_columns = {c["name"]: c for c in inspector.get_columns("mig_projects")}
    assert "draft" in str(project_columns["status"]["default"])


def _assert_behaviour(engine: sa.Engine) -> None:
    accounts, projects = Base.metadata.tables["mig_accounts"], Base.metadata.tables["mig_projects"]
    owner, reviewer = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(accounts.insert(), [
            {"id": owner, "email": "o@example.com", "name": "O", "roles": ["admin"]},
            {"id": reviewer, "email": "r@example.com", "name": "R", "roles": []},
        ])
        connection.execute(projects.insert(), [
            {"id": uuid.uuid4(), "owner_id": owner, "reviewer_id": reviewer, "title": "t"},
        ])
        query = sa.select(accounts.c.created_at, accounts.c.active).where(accounts.c.id == owner)
        row = connection.execute(query).one()
        assert row.created_at.tzinfo is not None and row.active is True
        assert connection.execute(sa.select(projects.c.status)).scalar_one() == "draft"
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(accounts.insert(), [{"id": uuid.uuid4(), "email": "o@example.com", "name": "X",
                                               "roles": []}])
    with engine.begin() as connection:
        connection.execute(accounts.delete().where(accounts.c.id == reviewer))
        assert connection.execute(sa.select(projects.c.reviewer_id)).scalar_one() is None
        connection.execute(accounts.delete().where(accounts.c.id == owner))
        assert connection.execute(sa.select(sa.func.count()).select_from(projects)).scalar_one() == 0


def test_offline_sql_renders_for_the_backend(database_url: str, scripts: Path, engine: sa.Engine, clean: None,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    settings = DatabaseSettings.from_url(database_url)
    revision(settings, "initial", script_location=scripts, metadata=Base.metadata)
    config = make_config(scripts, settings, Base.metadata)
    buffer: list[str] = []
    config.print_stdout = lambda text, *args: buffer.append(text % args if args else text)  # type: ignore[method-assign]
    command.upgrade(config, "head", sql=True)
    out = capsys.readouterr().out + "\n".join(buffer)
    assert "CREATE TABLE mig_accounts" in out
    backend = tidb_compat.get_backend(engine).vendor
    if backend in ("mariadb", "tidb"):
        assert "DATETIME(6)" in out
    assert "mig_accounts" not in sa.inspect(engine).get_table_names()  # nothing ran


SQLITE_REVISIONS = {
    "r1_parents.py": '''
"""parents and children"""
from alembic import op
import sqlalchemy as sa
revision = "r1"
down_revision = None
branch_labels = None
depends_on = None

def upgrade():
    op.create_table("mig_parents", sa.Column("id", sa.Integer, primary_key=True, autoincrement=False))
    op.create_table(
        "mig_children",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("mig_parents.id", ondelete="CASCADE"), nullable=False),
    )

def downgrade():
    op.drop_table("mig_children")
    op.drop_table("mig_parents")
''',
    "r2_parent_column.py": '''
"""batch-alter the parent: SQLite recreates the table"""
from alembic import op
import sqlalchemy as sa
revision = "r2"
down_revision = "r1"
branch_labels = None
depends_on = None

def _recreate():
    return "always" if op.get_bind().dialect.name == "sqlite" else "auto"

def upgrade():
    with op.batch_alter_table("mig_parents", recreate=_recreate()) as batch:
        batch.add_column(sa.Column("name", sa.String(50)))

def downgrade():
    with op.batch_alter_table("mig_parents", recreate=_recreate()) as batch:
        batch.drop_column("name")
''',
}


def test_batch_rebuild_keeps_child_rows(engine: sa.Engine, database_url: str, scripts: Path, clean: None) -> None:
    """Recreating a parent table (SQLite batch mode) must not cascade-delete its children."""
    for name, body in SQLITE_REVISIONS.items():
        (scripts / "versions" / name).write_text(body)
    settings = DatabaseSettings.from_url(database_url)
    upgrade(settings, "r1", script_location=scripts)
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO mig_parents (id) VALUES (1)"))
        connection.execute(sa.text("INSERT INTO mig_children (id, parent_id) VALUES (10, 1)"))
    upgrade(settings, "r2", script_location=scripts)
    # The rebuilt table still refuses an over-long String(50) (SQLite: tidb_compat's length check).
    with pytest.raises(sa.exc.DataError), engine.begin() as connection:
        connection.execute(sa.text("UPDATE mig_parents SET name = :name"), {"name": "x" * 51})
    downgrade(settings, "r1", script_location=scripts)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM mig_children")).scalar_one() == 1
        if engine.dialect.name == "sqlite":
            assert connection.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
    downgrade(settings, "base", script_location=scripts)


def test_new_column_constraints_are_separate_operations(engine: sa.Engine, database_url: str, scripts: Path,
                                                    clean: None) -> None:
    settings = DatabaseSettings.from_url(database_url)
    revision(settings, "initial", script_location=scripts, metadata=Base.metadata)
    upgrade(settings, script_location=scripts)
    extended = sa.MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(extended)
    projects = extended.tables["mig_projects"]
    projects.append_column(sa.Column("editor_id", sa.Uuid, sa.ForeignKey("mig_accounts.id", ondelete="SET NULL")))
    projects.append_column(sa.Column("slug", sa.String(64), unique=True))
    path = revision(settings, "editor", script_location=scripts, metadata=extended)
    text = Path(path).read_text()
    assert "batch_op.add_column(sa.Column('editor_id', sa.Uuid(), nullable=True))" in text
    assert "create_foreign_key(" in text and "ondelete='SET NULL'" in text
    assert "batch_op.add_column(sa.Column('slug', sa.String(length=64), nullable=True))" in text
    assert "create_unique_constraint(" in text
    upgrade(settings, script_location=scripts)
    assert check(settings, script_location=scripts, metadata=extended) == 0
    downgrade(settings, "base", script_location=scripts)


def test_check_reports_drift(engine: sa.Engine, database_url: str, scripts: Path, clean: None) -> None:
    settings = DatabaseSettings.from_url(database_url)
    revision(settings, "initial", script_location=scripts, metadata=Base.metadata)
    assert check(settings, script_location=scripts, metadata=Base.metadata) == 1  # not upgraded yet
    upgrade(settings, script_location=scripts)
    changed = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["mig_accounts"].append_column(sa.Column("nickname", sa.String(40)))
    assert check(settings, script_location=scripts, metadata=changed) == 1
    downgrade(settings, "base", script_location=scripts)


def test_init_migrations_cli(tmp_path: Path) -> None:
    import subprocess
    import sys

    run = [sys.executable, "-m", "tidb_compat.cli", "init-migrations", "migrations",
           "--env-prefix", "USER_SERVICE", "--metadata", "user_service.models:Base"]
    result = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    ini = (tmp_path / "alembic.ini").read_text()
    assert "tidb_compat.env_prefix = USER_SERVICE" in ini
    assert "tidb_compat.metadata = user_service.models:Base" in ini
    assert (tmp_path / "migrations" / "env.py").read_text().count("run_env(context)") == 1
    again = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 2
    assert "already exists" in again.stderr
