"""Shared fixtures for the tidb_compat suite.

The backend fixtures (``--backend``, ``backend_name``, ``database_url``, ``engine``) come from
the library's own pytest plugin, :mod:`tidb_compat.testing`: the suite runs once per backend
(``nox -s sqlite|mariadb|postgresql|tidb``) against real servers.  Tests that need no server
(version parsing, compile-only SQL, settings) run in every session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import Engine

pytest_plugins = ["tidb_compat.testing"]

TEST_DATABASE = "tidb_compat_test"  # tidb_compat.testing.DEFAULT_TEST_DATABASE

# Hypothesis against real servers: no per-example deadline, a bounded number of examples.
settings.register_profile(
    "servers",
    deadline=None,
    max_examples=int(os.environ.get("TIDB_COMPAT_HYPOTHESIS_EXAMPLES", "40")),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile("servers")


@pytest.fixture
def table_name() -> str:
    """A unique table name, so tests never see each other's tables."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def metadata(engine: Engine) -> Iterator[sa.MetaData]:
    """A MetaData whose tables are dropped after the test."""
    md = sa.MetaData()
    yield md
    md.drop_all(engine)
