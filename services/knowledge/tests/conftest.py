"""Knowledge service tests: real servers through tidb_compat.testing (``--backend``)."""

from __future__ import annotations

import pytest
from knowledge_service.service import SPEC

from tidb_compat.service import ServiceSpec

pytest_plugins = ["tidb_compat.testing"]


@pytest.fixture(scope="session")
def service_spec() -> ServiceSpec:
    return SPEC


@pytest.fixture(scope="session")
def test_database_name() -> str:
    return "design_synapse_knowledge_db_test"
