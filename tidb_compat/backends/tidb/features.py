"""TiDB capability flags, gated on TiDB's own version (not the MySQL prefix)."""

from __future__ import annotations

from functools import cached_property

from ..mysql.features import DatabaseFeatures as MySQLFeatures


class DatabaseFeatures(MySQLFeatures):
    """TiDB 6.x to 8.x and TiDB Cloud (see ``../shared/TIDB_NOTES.md``)."""

    supports_returning = False
    """TiDB has no ``RETURNING`` (some parsers accept and ignore it: never rely on it)."""
    native_array = False
    max_index_key_bytes = 3072
    default_collation_is_ci = False
    """TiDB's default collation is ``utf8mb4_bin``: case-sensitive, unlike MySQL/MariaDB."""
    default_collation = "utf8mb4_bin"
    supports_transactional_ddl = False
    """DDL is online and non-transactional: a failed migration keeps earlier statements."""
    supports_check_constraints = False
    """CHECK constraints are enforced only with ``tidb_enable_check_constraint`` (7.2+,
    OFF by default); portable code must not rely on them."""

    @cached_property
    def enforces_foreign_keys(self) -> bool:  # type: ignore[override]
        """Enforced from 6.6 (``tidb_enable_foreign_key``, ON by default from 7.0); before
        6.6 foreign keys were parsed and ignored.  Also checked at every connect."""
        return self.version >= (6, 6)

    @cached_property
    def native_json(self) -> bool:  # type: ignore[override]
        """The ``JSON`` type is GA since 6.3."""
        return self.version >= (6, 3)

    @cached_property
    def supports_savepoints(self) -> bool:  # type: ignore[override]
        """``SAVEPOINT`` since 6.2."""
        return self.version >= (6, 2)

    @cached_property
    def supports_multi_valued_index(self) -> bool:  # type: ignore[override]
        """Multi-valued indexes (``CAST(... AS ... ARRAY)``): GA since 7.1."""
        return self.version >= (7, 1)

    @cached_property
    def supports_auto_random(self) -> bool:  # type: ignore[override]
        """``AUTO_RANDOM`` primary keys (GA since 4.0)."""
        return self.version >= (4, 0)

    @cached_property
    def supports_auto_random_range(self) -> bool:
        """``AUTO_RANDOM(S, R)`` with an explicit range since 6.3."""
        return self.version >= (6, 3)

    @cached_property
    def supports_multi_schema_change(self) -> bool:  # type: ignore[override]
        """Several changes in one ``ALTER TABLE`` since 6.2 (error 8200 before)."""
        return self.version >= (6, 2)

    @cached_property
    def supports_clustered_index(self) -> bool:
        """Clustered primary keys (``/*T![clustered_index] CLUSTERED */``) since 5.0."""
        return self.version >= (5, 0)

    @cached_property
    def supports_vector(self) -> bool:
        """``VECTOR(D)`` columns and ``VEC_COSINE_DISTANCE``: 8.4+ and TiDB Cloud."""
        return self.version >= (8, 4)
