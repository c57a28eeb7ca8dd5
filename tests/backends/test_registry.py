"""identify(), the registry and entry-point plug-ins (no server needed)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tidb_compat
from tidb_compat.backends import TIDB_CLOUD_VERSION, identify, load_backend
from tidb_compat.backends.registry import BackendRegistry


@pytest.mark.parametrize(
    ("version_string", "family", "expected"),
    [
        ("8.0.11-TiDB-v8.5.5", None, ("tidb", (8, 5, 5))),
        ("8.0.11-TiDB-CLOUD.202603.9", None, ("tidb", TIDB_CLOUD_VERSION)),
        ("5.7.25-TiDB-v6.5.0", None, ("tidb", (6, 5, 0))),
        ("5.7.25-TiDB-v7.1.0-alpha-123-gabcdef", "mysql", ("tidb", (7, 1, 0))),
        ("8.0.36", None, ("mysql", (8, 0, 36))),
        ("8.0.36-0ubuntu0.22.04.1", "mysql", ("mysql", (8, 0, 36))),
        ("5.7.44-log", "mysql", ("mysql", (5, 7, 44))),
        ("10.11.6-MariaDB-0+deb12u1", None, ("mariadb", (10, 11, 6))),
        ("5.5.5-10.11.6-MariaDB", None, ("mariadb", (10, 11, 6))),
        ("5.5.5-10.11.19-MariaDB-0+deb12u1", "mysql", ("mariadb", (10, 11, 19))),
        ("11.4.2-MariaDB-ubu2404-log", None, ("mariadb", (11, 4, 2))),
        ("PostgreSQL 15.20 (Debian 15.20-0+deb12u1) on x86_64-pc-linux-gnu", None, ("postgresql", (15, 20))),
        ("15.20 (Debian 15.20-0+deb12u1)", "postgresql", ("postgresql", (15, 20))),
        ("16beta1", "postgresql", ("postgresql", (16, 0))),
        ("9.6.24", "postgresql", ("postgresql", (9, 6, 24))),
        ("SQLite 3.40.1", None, ("sqlite", (3, 40, 1))),
        ("3.45.0", "sqlite", ("sqlite", (3, 45, 0))),
    ],
)
def test_identify(version_string: str, family: str | None, expected: tuple[str, tuple[int, ...]]) -> None:
    assert identify(version_string, family) == expected


def test_cloud_build_is_one_named_constant() -> None:
    _, version = identify("8.0.11-TiDB-CLOUD.202603.9")
    assert version is TIDB_CLOUD_VERSION
    assert load_backend("tidb").server_version == TIDB_CLOUD_VERSION


def test_versions_compare_as_tuples_not_strings() -> None:
    # "10.11" < "9.6" as strings; as tuples 10.11 is newer.
    _, new = identify("5.5.5-10.11.6-MariaDB")
    _, old = identify("5.5.5-9.6.0-MariaDB")
    assert new > old
    assert load_backend("mariadb", new).features.supports_returning is True
    assert load_backend("mariadb", (10, 4, 30)).features.supports_returning is False


@given(st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 999)))
def test_tidb_semver_round_trips(version: tuple[int, int, int]) -> None:
    text = f"8.0.11-TiDB-v{version[0]}.{version[1]}.{version[2]}"
    assert identify(text) == ("tidb", version)


def test_unidentifiable_version_is_a_clear_error() -> None:
    with pytest.raises(tidb_compat.BackendNotFoundError, match="cannot identify"):
        identify("not a version")


def test_unknown_vendor_names_the_setting() -> None:
    with pytest.raises(tidb_compat.ConfigurationError, match=r"^backend: unknown backend 'oracle'"):
        load_backend("oracle")


def test_third_party_backend_through_entry_point(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution that declares a ``tidb_compat.backends`` entry point is picked up,
    and its backend identifies its own servers before the family's generic backend."""
    package = tmp_path / "acme_backend"
    package.mkdir()
    (package / "__init__.py").write_text(
        textwrap.dedent(
            """
            import re
            from tidb_compat.backends.postgresql.base import DatabaseBackend as PG

            class DatabaseBackend(PG):
                vendor = "acmedb"
                display_name = "AcmeDB"
                generic = False

                @classmethod
                def parse_version(cls, version_string):
                    m = re.search(r"AcmeDB v(\\d+)\\.(\\d+)", version_string)
                    return tuple(int(x) for x in m.groups()) if m else None
            """
        )
    )
    dist = tmp_path / "acme_backend-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-backend\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[tidb_compat.backends]\nacmedb = acme_backend:DatabaseBackend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        registry = BackendRegistry()
        assert "acmedb" in registry.vendors()
        assert registry.identify("PostgreSQL 14.0 AcmeDB v23.1", "postgresql") == ("acmedb", (23, 1))
        assert registry.identify("PostgreSQL 14.0", "postgresql") == ("postgresql", (14, 0))
    finally:
        sys.modules.pop("acme_backend", None)


def test_broken_plugin_warns_and_keeps_builtins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[tidb_compat.backends]\nbroken = no_such_module:DatabaseBackend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = BackendRegistry()
    with pytest.warns(RuntimeWarning, match="skipped backend entry point 'broken'"):
        vendors = registry.vendors()
    assert {"tidb", "mysql", "mariadb", "postgresql", "sqlite"} <= set(vendors)
