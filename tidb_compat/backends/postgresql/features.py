"""PostgreSQL capability flags."""

from __future__ import annotations

from ..base.features import BaseDatabaseFeatures


class DatabaseFeatures(BaseDatabaseFeatures):
    """PostgreSQL 12+."""

    supports_returning = True
    enforces_foreign_keys = True
    native_json = True
    native_array = True
    supports_savepoints = True
    max_index_key_bytes = 2704
    """B-tree entries are limited to about a third of an 8 KiB page."""
    supports_multi_valued_index = True
    """GIN indexes cover array and JSONB elements."""
    supports_auto_random = False
    default_collation_is_ci = False
    """Deterministic collations compare case-sensitively."""
    default_collation = None
    supports_transactional_ddl = True
    supports_multi_schema_change = True
    supports_check_constraints = True
    supports_native_uuid = True
    max_identifier_length = 63
