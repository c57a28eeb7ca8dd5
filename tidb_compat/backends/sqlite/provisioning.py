"""SQLite provisioning: a database is a file, and there are no accounts.

Each service gets its own file, ``<directory>/<database>.sqlite3`` (the layout of
``DatabaseSettings.from_env``'s default), where the directory is the admin URL's: the folder
of its file, or the path itself when it ends with ``/`` or is an existing folder.  New files
are created with mode 0600 (their permissions are the only access control).
"""

from __future__ import annotations

import os
from pathlib import Path

from ...errors import ConfigurationError
from ...settings import DatabaseSettings
from ..base.provisioning import BaseProvisioning


class DatabaseProvisioning(BaseProvisioning):
    supports_accounts = False
    """SQLite has no accounts or privileges: access is the file's permissions."""
    database_is_file = True
    identifier_quote = '"'

    def create_database_sql(self, name: str) -> list[str]:
        self.validate_identifier(name, setting="database")
        return []  # the file is created on first connect

    def drop_database_sql(self, name: str) -> list[str]:
        self.validate_identifier(name, setting="database")
        return []

    def database_settings(self, admin: DatabaseSettings, name: str) -> DatabaseSettings:
        where = admin.database or ""
        if not where or where == ":memory:" or where.startswith("file:"):
            raise ConfigurationError(
                admin.source_of("url"),
                "SQLite provisioning needs a file or folder path (e.g. sqlite:///./.data/): "
                "each service's database is created in that folder",
            )
        path = Path(where)
        folder = path if where.endswith(("/", os.sep)) or path.is_dir() else path.parent
        return admin.replace(
            database=str(folder / f"{name}.sqlite3"), sources={**admin.sources, "database": "database"}
        )

    def create_database_file(self, settings: DatabaseSettings) -> bool:
        path = settings.sqlite_path
        if path is None:
            raise ConfigurationError(settings.source_of("url"), "not a SQLite database file")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            return False
        os.close(fd)  # an empty file is an empty SQLite database
        return True
