"""TiDB session setup: as MySQL, plus a refusal when foreign keys are not enforced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...errors import ForeignKeysNotEnforcedError
from ..mysql.operations import DatabaseOperations as MySQLOperations
from .features import DatabaseFeatures

FOREIGN_KEY_QUERY = "SELECT @@global.tidb_enable_foreign_key, @@session.foreign_key_checks"


def _is_on(value: Any) -> bool:
    if isinstance(value, bytes):
        value = value.decode()
    return str(value).strip().upper() in {"1", "ON"}


class DatabaseOperations(MySQLOperations):
    def setup_statements(self) -> Sequence[str]:
        """MySQL's session setup, plus clustered primary keys for the tables this session
        creates (TiDB 5.0+; the default only from 6.x): a random UUID key then spreads
        inserts over regions, where a nonclustered key would add a monotonically increasing
        hidden row id, a write hot spot."""
        statements = list(super().setup_statements())
        features = self.backend.features
        if isinstance(features, DatabaseFeatures) and features.supports_clustered_index:
            statements[0] += ", SESSION tidb_enable_clustered_index = 'ON'"
        return statements

    def check_connection(self, dbapi_connection: Any) -> None:
        """Refuse a TiDB that would accept foreign keys without enforcing them."""
        version = ".".join(map(str, self.backend.server_version))
        if not self.backend.features.enforces_foreign_keys:
            raise ForeignKeysNotEnforcedError(
                f"TiDB {version} parses foreign keys but does not enforce them; "
                "tidb_compat needs TiDB 6.6 or newer (foreign keys GA in 8.5)"
            )
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(FOREIGN_KEY_QUERY)
            row = cursor.fetchone()
        finally:
            cursor.close()
        enable_fk, checks = row if row is not None else (None, None)
        off = []
        if not _is_on(enable_fk):
            off.append("@@global.tidb_enable_foreign_key (SET GLOBAL tidb_enable_foreign_key = ON)")
        if not _is_on(checks):
            off.append("@@foreign_key_checks (SET GLOBAL foreign_key_checks = ON)")
        if off:
            raise ForeignKeysNotEnforcedError(
                f"TiDB {version} does not enforce foreign keys on this connection: "
                + " and ".join(off)
                + " is OFF; cascades and referential integrity would silently not happen"
            )
