"""Platform tests: real servers through tidb_compat.testing (``--backend``)."""

from __future__ import annotations

pytest_plugins = ["tidb_compat.testing"]
