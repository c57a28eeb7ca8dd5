"""Alembic glue for portable migrations (see ``alembic_templates/`` and the README).

``upgrade(settings, revision="head", script_location=...)``, ``current(settings)``,
``check(settings, script_location=..., metadata=...)`` are the entry points services use;
the template's ``env.py`` calls :func:`run_env`.
"""

from __future__ import annotations

from pathlib import Path

from .api import check, current, downgrade, make_config, revision, upgrade
from .autogen import compare_type, render_item
from .env import MigrationError, load_metadata, run_env, sqlite_foreign_keys_off
from .ops import add_column_with_foreign_key, add_unique_column

TEMPLATE_DIR = Path(__file__).with_name("template")
"""The Alembic template shipped in the package (``alembic init -t`` takes this path)."""

__all__ = [
    "TEMPLATE_DIR",
    "MigrationError",
    "add_column_with_foreign_key",
    "add_unique_column",
    "check",
    "compare_type",
    "current",
    "downgrade",
    "load_metadata",
    "make_config",
    "render_item",
    "revision",
    "run_env",
    "sqlite_foreign_keys_off",
    "upgrade",
]
