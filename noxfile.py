"""Test sessions: one per backend, plus lint.

``nox`` runs the default sessions (lint, sqlite, mariadb, postgresql): what CI runs.
``nox -s tidb`` runs the whole suite against the TiDB given by ``TIDB_COMPAT_TEST_TIDB_URL``.
Virtualenvs are made with uv (seconds with its cache) and reused between runs.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "sqlite", "mariadb", "postgresql"]

TEST_DEPS = ("-e", ".[test,lint]")


def _pytest(session: nox.Session, backend: str) -> None:
    session.install(*TEST_DEPS)
    session.run("pytest", "--backend", backend, *session.posargs, env={"TIDB_COMPAT_TEST_BACKEND": backend})


@nox.session
def sqlite(session: nox.Session) -> None:
    """The suite on embedded SQLite files."""
    _pytest(session, "sqlite")


@nox.session
def mariadb(session: nox.Session) -> None:
    """The suite on MariaDB (127.0.0.1:3306 unless TIDB_COMPAT_TEST_MARIADB_URL)."""
    _pytest(session, "mariadb")


@nox.session
def postgresql(session: nox.Session) -> None:
    """The suite on PostgreSQL (127.0.0.1:5432 unless TIDB_COMPAT_TEST_POSTGRESQL_URL)."""
    _pytest(session, "postgresql")


@nox.session
def tidb(session: nox.Session) -> None:
    """The suite on a real TiDB: TIDB_COMPAT_TEST_TIDB_URL (ssl_mode/ssl_ca in its query)."""
    if not os.environ.get("TIDB_COMPAT_TEST_TIDB_URL"):
        session.error("set TIDB_COMPAT_TEST_TIDB_URL to a TiDB URL, e.g. TiDB Cloud Serverless")
    _pytest(session, "tidb")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and mypy --strict on tidb_compat."""
    session.install(*TEST_DEPS)
    session.run("ruff", "check", "tidb_compat", "tests", "noxfile.py")
    session.run("mypy", "--strict", "tidb_compat", "tests/types/typed_models.py")
