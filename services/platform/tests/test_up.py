"""``design-synapse up`` brings all three services up on the session's backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from design_synapse import SERVICES

from tidb_compat.testing import ensure_database, server_url

SECRET = "N0t-The-Pa55word!"


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "design_synapse.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600, check=False)


def _clean_env() -> dict[str, str]:
    prefixes = tuple(spec.env_prefix for spec in SERVICES)
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@pytest.fixture
def env(backend_name: str) -> dict[str, str]:
    """Each service on its own database of the session's backend (SQLite: the default files)."""
    environment = _clean_env()
    if backend_name != "sqlite":
        for spec in SERVICES:
            url = server_url(backend_name, f"{spec.database}_up_test")
            if backend_name != "tidb":
                ensure_database(url)
            environment[f"{spec.env_prefix}_DATABASE_URL"] = url
    return environment


def test_up_migrates_checks_and_smokes_every_service(env: dict[str, str], tmp_path: Path, backend_name: str) -> None:
    result = _run(["up", "--json"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["service"] for row in rows] == ["user", "project", "knowledge"]
    assert all(row["ok"] for row in rows)
    assert {row["revision"] for row in rows} == {"user_0001", "project_0001", "knowledge_0001"}
    expected = {"sqlite": "SQLite", "mariadb": "MariaDB", "postgresql": "PostgreSQL", "tidb": "TiDB"}[backend_name]
    assert all(row["backend"].startswith(expected) for row in rows)
    if backend_name == "sqlite":
        assert sorted(p.name for p in (tmp_path / ".data").iterdir()) == sorted(
            f"{spec.database}.sqlite3" for spec in SERVICES)
    again = _run(["up"], env, tmp_path)  # idempotent: a second bring-up succeeds and changes nothing
    assert again.returncode == 0, again.stderr
    assert "user_0001" in again.stdout


def test_a_failing_service_is_one_line_without_the_password(tmp_path: Path) -> None:
    environment = _clean_env()
    environment["PROJECT_SERVICE_DATABASE_URL"] = f"mysql+pymysql://root:{SECRET}@127.0.0.1:1/none"
    result = _run(["up"], environment, tmp_path)
    assert result.returncode == 1
    assert SECRET not in result.stdout + result.stderr
    failures = [line for line in result.stderr.splitlines() if line.startswith("design-synapse up:")]
    assert len(failures) == 1 and "project" in failures[0] and "Traceback" not in result.stderr
    assert "user_0001" in result.stdout and "knowledge_0001" in result.stdout  # the others came up


def test_usage() -> None:
    result = subprocess.run([sys.executable, "-m", "design_synapse.cli"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2 and "usage: design-synapse up" in result.stderr


def test_up_with_admin_url_provisions_and_runs_as_the_service_accounts(backend_name: str, database_url: str,
                                                                       tmp_path: Path) -> None:
    from sqlalchemy.engine import make_url

    from tidb_compat.provisioning import deprovision

    if backend_name not in ("mariadb", "postgresql"):
        pytest.skip("accounts are provisioned on the local MariaDB/PostgreSQL servers")
    admin = make_url(database_url)._replace(database="postgres" if backend_name == "postgresql" else None)
    admin_url = admin.render_as_string(hide_password=False)

    def cleanup() -> None:
        for spec in SERVICES:
            deprovision(admin_url, database=spec.database, app_user=spec.app_user, migrator_user=spec.migrator_user)

    cleanup()
    try:
        first = _run(["up", "--admin-url", admin_url, "--json"], _clean_env(), tmp_path)
        assert first.returncode == 0, first.stderr
        rows = json.loads(first.stdout)
        assert all(row["ok"] for row in rows)
        for row, spec in zip(rows, SERVICES, strict=True):
            assert row["provision"] == "migrator created, app created"
            assert spec.app_user in row["url"]  # the bring-up ran as the app account
            credentials = tmp_path / row["credentials_file"]
            assert credentials.stat().st_mode & 0o777 == 0o600
            assert f"{spec.env_prefix}_MIGRATOR_DATABASE_URL=" in credentials.read_text()
        second = _run(["up", "--admin-url", admin_url, "--json"], _clean_env(), tmp_path)
        assert second.returncode == 0, second.stderr
        assert all(row["provision"] == "migrator unchanged, app unchanged" for row in json.loads(second.stdout))
    finally:
        cleanup()
