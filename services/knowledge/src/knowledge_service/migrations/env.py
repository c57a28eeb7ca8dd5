"""Alembic environment: portable migrations through tidb_compat.

Everything runs in tidb_compat.migrations.run_env (tested library code): the engine comes
from tidb_compat.create_engine with DatabaseSettings.from_env(tidb_compat.env_prefix),
portable types are rendered as tidb_compat imports, each migration runs in its own
transaction, and SQLite foreign keys are switched off around batch table rebuilds.
"""

from alembic import context

from tidb_compat.migrations import run_env

run_env(context)
