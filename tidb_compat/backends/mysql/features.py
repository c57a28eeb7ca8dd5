"""MySQL capability flags."""

from __future__ import annotations

from functools import cached_property

from ..base.features import BaseDatabaseFeatures


class DatabaseFeatures(BaseDatabaseFeatures):
    """MySQL 5.7 / 8.x."""

    supports_returning = False
    enforces_foreign_keys = True
    native_json = True
    native_array = False
    supports_savepoints = True
    max_index_key_bytes = 3072
    supports_auto_random = False
    default_collation_is_ci = True
    supports_transactional_ddl = False
    supports_multi_schema_change = True
    supports_native_uuid = False
    max_identifier_length = 64

    @cached_property
    def supports_multi_valued_index(self) -> bool:  # type: ignore[override]
        """Multi-valued indexes on JSON arrays: MySQL 8.0.17+."""
        return self.version >= (8, 0, 17)

    @cached_property
    def supports_check_constraints(self) -> bool:  # type: ignore[override]
        """CHECK constraints are enforced from MySQL 8.0.16 (parsed and ignored before)."""
        return self.version >= (8, 0, 16)

    @cached_property
    def default_collation(self) -> str:  # type: ignore[override]
        """``utf8mb4_0900_ai_ci`` on 8.0+, ``utf8mb4_general_ci`` before."""
        return "utf8mb4_0900_ai_ci" if self.version >= (8, 0) else "utf8mb4_general_ci"
