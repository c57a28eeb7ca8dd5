"""SQLite capability flags."""

from __future__ import annotations

from functools import cached_property

from ..base.features import BaseDatabaseFeatures


class DatabaseFeatures(BaseDatabaseFeatures):
    """SQLite 3.31+ as bundled with Python."""

    enforces_foreign_keys = True
    """Enforced because every connection runs ``PRAGMA foreign_keys = ON`` (checked)."""
    native_json = False
    """JSON is stored as text (the JSON1 functions read it)."""
    native_array = False
    supports_savepoints = True
    max_index_key_bytes = None
    supports_multi_valued_index = False
    supports_auto_random = False
    default_collation_is_ci = False
    """The default ``BINARY`` collation is case-sensitive."""
    default_collation = "BINARY"
    supports_transactional_ddl = True
    supports_multi_schema_change = False
    """``ALTER TABLE`` does one thing at a time (Alembic's batch mode rebuilds tables)."""
    supports_check_constraints = True
    supports_native_uuid = False
    max_identifier_length = None

    @cached_property
    def supports_returning(self) -> bool:  # type: ignore[override]
        """``RETURNING`` since SQLite 3.35."""
        return self.version >= (3, 35)
