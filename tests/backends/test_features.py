"""Capability flags per backend and version; compile-only SQL for TiDB (no server)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import tidb_compat
from tidb_compat.backends import load_backend
from tidb_compat.backends.base.features import FLAG_NAMES
from tidb_compat.backends.mysql.operations import STRICT_SQL_MODE

REQUIRED_FLAGS = (
    "supports_returning",
    "enforces_foreign_keys",
    "native_json",
    "native_array",
    "supports_savepoints",
    "max_index_key_bytes",
    "supports_multi_valued_index",
    "supports_auto_random",
    "default_collation_is_ci",
    "supports_transactional_ddl",
)
VENDORS = ("tidb", "mysql", "mariadb", "postgresql", "sqlite")


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_backend_has_the_same_concern_modules_and_flags(vendor: str) -> None:
    backend = load_backend(vendor)
    assert set(REQUIRED_FLAGS) <= set(FLAG_NAMES)
    flags = backend.features.as_dict()
    assert list(flags) == list(FLAG_NAMES)
    for concern in ("features", "driver", "ops", "errors", "provisioning"):
        module = type(getattr(backend, concern)).__module__
        assert module.startswith(f"tidb_compat.backends.{vendor}."), (concern, module)
    assert backend.probed is False


@pytest.mark.parametrize(
    ("vendor", "expected"),
    [
        ("tidb", {"supports_returning": False, "native_json": True, "native_array": False,
                  "supports_auto_random": True, "default_collation_is_ci": False,
                  "supports_transactional_ddl": False, "max_index_key_bytes": 3072,
                  "supports_multi_valued_index": True, "enforces_foreign_keys": True}),
        ("mysql", {"supports_returning": False, "native_json": True, "default_collation_is_ci": True,
                   "supports_auto_random": False, "supports_multi_valued_index": True}),
        ("mariadb", {"supports_returning": True, "native_json": False, "default_collation_is_ci": True,
                     "supports_multi_valued_index": False}),
        ("postgresql", {"supports_returning": True, "native_json": True, "native_array": True,
                        "supports_transactional_ddl": True, "max_index_key_bytes": 2704}),
        ("sqlite", {"native_json": False, "native_array": False, "supports_transactional_ddl": True,
                    "max_index_key_bytes": None, "default_collation_is_ci": False}),
    ],
)
def test_flags_at_default_versions(vendor: str, expected: dict[str, object]) -> None:
    flags = load_backend(vendor).features.as_dict()
    assert {name: flags[name] for name in expected} == expected


@pytest.mark.parametrize(
    ("version", "flag", "value"),
    [
        ((6, 1, 0), "supports_savepoints", False),
        ((6, 2, 0), "supports_savepoints", True),
        ((6, 1, 7), "supports_multi_schema_change", False),
        ((6, 2, 0), "supports_multi_schema_change", True),
        ((6, 2, 0), "native_json", False),
        ((6, 3, 0), "native_json", True),
        ((6, 5, 0), "enforces_foreign_keys", False),
        ((6, 6, 0), "enforces_foreign_keys", True),
        ((7, 0, 0), "supports_multi_valued_index", False),
        ((7, 1, 0), "supports_multi_valued_index", True),
        ((10, 0, 0), "supports_multi_valued_index", True),  # 10.0 > 7.1 as tuples
    ],
)
def test_tidb_version_gates(version: tuple[int, ...], flag: str, value: bool) -> None:
    assert getattr(load_backend("tidb", version).features, flag) is value


def test_flags_are_computed_once_per_probe() -> None:
    features = load_backend("tidb", (8, 5, 5)).features
    assert features.supports_savepoints is features.supports_savepoints
    assert "supports_savepoints" in vars(features)  # cached_property stored it


def test_tidb_pool_defaults_follow_serverless_advice() -> None:
    pool = load_backend("tidb").driver.pool_defaults
    assert pool["pool_pre_ping"] is True
    assert pool["pool_recycle"] == 300
    assert pool["pool_timeout"] == 10
    assert pool["pool_size"] + pool["max_overflow"] <= 10


def test_tidb_engine_compiles_without_returning_and_uses_tidb_pool() -> None:
    # Compile-only: the host is never dialled.
    engine = tidb_compat.create_engine("mysql+pymysql://u:pw@gateway01.example.invalid:4000/test", backend="tidb")
    backend = tidb_compat.get_backend(engine)
    assert (backend.vendor, backend.probed) == ("tidb", False)
    assert engine.pool.timeout() == 10
    assert engine.pool._recycle == 300  # type: ignore[attr-defined]
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), sa.Column("v", sa.JSON))
    sql = str(table.insert().values(id=1, v={"a": 1}).compile(dialect=backend.dialect()))
    assert "RETURNING" not in sql.upper()
    assert not backend.dialect().insert_returning
    engine.dispose()


def test_tidbcloud_host_gets_tidb_pool_without_naming_the_backend() -> None:
    engine = tidb_compat.create_engine("mysql+pymysql://x.root:pw@gateway01.eu-central-1.prod.aws.tidbcloud.com:4000/test")
    assert engine.pool._recycle == 300  # type: ignore[attr-defined]
    assert engine.pool.timeout() == 10
    engine.dispose()


def test_strict_sql_mode_is_the_same_for_the_mysql_family() -> None:
    for vendor in ("tidb", "mysql", "mariadb"):
        statements = load_backend(vendor).ops.session_setup_statements
        assert any("time_zone = '+00:00'" in s and STRICT_SQL_MODE in s for s in statements)


@pytest.mark.parametrize(
    ("vendor", "code", "retryable"),
    [
        ("tidb", 8002, True), ("tidb", 9007, True), ("tidb", 8028, True), ("tidb", 9005, True),
        ("tidb", 1213, True), ("tidb", 1205, True), ("tidb", 1062, False),
        ("mysql", 8002, False), ("mariadb", 1213, True), ("mariadb", 1020, True),
    ],
)
def test_mysql_family_error_classification(vendor: str, code: int, retryable: bool) -> None:
    import pymysql

    error = sa.exc.OperationalError("stmt", {}, pymysql.err.OperationalError(code, "message"))
    assert load_backend(vendor).errors.is_retryable(error) is retryable


def test_tidb_sessions_create_clustered_primary_keys() -> None:
    statements = load_backend("tidb", (8, 5, 0)).ops.setup_statements()
    assert len(statements) == 1  # one round trip
    assert "tidb_enable_clustered_index = 'ON'" in statements[0]
    assert STRICT_SQL_MODE in statements[0]
    assert "tidb_enable_clustered_index" not in load_backend("tidb", (4, 0, 0)).ops.setup_statements()[0]
    assert "tidb_enable_clustered_index" not in load_backend("mariadb").ops.setup_statements()[0]
