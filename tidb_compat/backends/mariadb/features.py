"""MariaDB capability flags."""

from __future__ import annotations

from functools import cached_property

from ..mysql.features import DatabaseFeatures as MySQLFeatures


class DatabaseFeatures(MySQLFeatures):
    """MariaDB 10.x / 11.x."""

    native_json = False
    """``JSON`` is an alias of ``LONGTEXT`` with a ``json_valid`` CHECK; it reflects as LONGTEXT."""
    supports_check_constraints = True
    default_collation_is_ci = True

    @cached_property
    def supports_returning(self) -> bool:  # type: ignore[override]
        """``INSERT ... RETURNING`` since MariaDB 10.5."""
        return self.version >= (10, 5)

    @cached_property
    def supports_multi_valued_index(self) -> bool:  # type: ignore[override]
        """MariaDB has no multi-valued (array) indexes."""
        return False

    @cached_property
    def supports_native_uuid(self) -> bool:  # type: ignore[override]
        """A ``UUID`` column type since MariaDB 10.7."""
        return self.version >= (10, 7)

    @cached_property
    def default_collation(self) -> str:  # type: ignore[override]
        """``utf8mb4_general_ci`` (``utf8mb4_uca1400_ai_ci`` from 11.5)."""
        return "utf8mb4_uca1400_ai_ci" if self.version >= (11, 5) else "utf8mb4_general_ci"
