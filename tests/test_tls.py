"""TLS against throwaway MariaDB servers: one with a CA and certificate made here, one
without TLS.  Sync (PyMySQL) and async (aiomysql) must behave the same.

The servers are shared by the whole session and started only in the ``mariadb`` session
(the MySQL-protocol drivers are what these tests exercise).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import trustme

import tidb_compat
from tidb_compat import ConfigurationError, DatabaseSettings, InsecureTransportError
from tidb_compat.backends import load_backend
from tidb_compat.tls import find_system_ca_bundle, resolve

from .servers import APP_PASSWORD, ThrowawayMariaDB, readable_tempdir, require_throwaway

CERT_HOST = "localhost"  # the only name in the server certificate; 127.0.0.1 is not in it


@dataclass
class TLSServers:
    tls: ThrowawayMariaDB
    plain: ThrowawayMariaDB
    ca_file: Path
    wrong_ca_file: Path


@pytest.fixture(scope="session")
def servers(backend_name: str) -> Iterator[TLSServers]:
    require_throwaway(backend_name)
    with readable_tempdir("tidb-compat-tls-") as root:
        ca = trustme.CA()
        server_cert = ca.issue_cert(CERT_HOST)
        keys = root / "keys"
        keys.mkdir()
        ca_file, cert_file, key_file = keys / "ca.pem", keys / "server.pem", keys / "server.key"
        ca.cert_pem.write_to_path(str(ca_file))
        server_cert.cert_chain_pems[0].write_to_path(str(cert_file))
        server_cert.private_key_pem.write_to_path(str(key_file))
        wrong_ca_file = keys / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(wrong_ca_file))
        (root / "tls").mkdir()
        (root / "plain").mkdir()
        tls_server = ThrowawayMariaDB(root / "tls", tls=(ca_file, cert_file, key_file))
        plain_server = ThrowawayMariaDB(root / "plain")
        try:
            tls_server.start()
            plain_server.start()
            yield TLSServers(tls_server, plain_server, ca_file, wrong_ca_file)
        finally:
            tls_server.stop()
            plain_server.stop()


def server_cipher_sync(url: str | DatabaseSettings) -> str:
    """Connect with the sync engine; the cipher as the SERVER reports it ('' = plaintext)."""
    engine = tidb_compat.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            row = connection.exec_driver_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'").one()
            return str(row[1])
    finally:
        engine.dispose()


def server_cipher_async(url: str | DatabaseSettings) -> str:
    async def run() -> str:
        engine = tidb_compat.create_async_engine(url, poolclass=sa.pool.NullPool)
        try:
            async with engine.connect() as connection:
                row = (await connection.exec_driver_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'")).one()
                return str(row[1])
        finally:
            await engine.dispose()
            # aiomysql closes a TLS transport asynchronously: let the loop finish it before
            # asyncio.run() closes the loop (else the socket is reported as leaked).
            await asyncio.sleep(0.05)

    return asyncio.run(run())


PATHS = {"sync": (server_cipher_sync, "pymysql"), "async": (server_cipher_async, "aiomysql")}


@pytest.fixture(params=sorted(PATHS))
def path(request: pytest.FixtureRequest) -> tuple[Any, str]:
    return PATHS[request.param]


def test_verified_connection_works_and_is_encrypted(servers: TLSServers, path: tuple[Any, str]) -> None:
    connect, driver = path
    url = servers.tls.url(CERT_HOST, driver, f"ssl_ca={servers.ca_file}")  # ssl_ca alone -> verify_identity
    assert connect(url) != ""


def test_verify_ca_does_not_check_the_host_name(servers: TLSServers, path: tuple[Any, str]) -> None:
    connect, driver = path
    url = servers.tls.url("127.0.0.1", driver, f"ssl_mode=verify_ca&ssl_ca={servers.ca_file}")
    assert connect(url) != ""


def test_wrong_ca_is_refused(servers: TLSServers, path: tuple[Any, str]) -> None:
    connect, driver = path
    url = servers.tls.url(CERT_HOST, driver, f"ssl_mode=verify_ca&ssl_ca={servers.wrong_ca_file}")
    with pytest.raises(InsecureTransportError, match="does not chain to a trusted CA") as info:
        connect(url)
    assert info.value.check == "unknown_ca"


def test_wrong_host_name_is_refused(servers: TLSServers, path: tuple[Any, str]) -> None:
    """The certificate names ``localhost``; the client dialled ``127.0.0.1``."""
    connect, driver = path
    url = servers.tls.url("127.0.0.1", driver, f"ssl_mode=verify_identity&ssl_ca={servers.ca_file}")
    with pytest.raises(InsecureTransportError, match=r"does not name the host '127\.0\.0\.1'") as info:
        connect(url)
    assert info.value.check == "hostname_mismatch"


@pytest.mark.parametrize("mode", ["required", "verify_ca", "verify_identity"])
def test_server_without_tls_is_refused_before_credentials(servers: TLSServers, path: tuple[Any, str],
                                                          mode: str) -> None:
    """No credentials reach the server: a WRONG password would be counted by the server as
    an access-denied error if it had been sent."""
    connect, driver = path
    ca = f"&ssl_ca={servers.ca_file}" if mode != "required" else ""
    url = servers.plain.url(CERT_HOST, driver, f"ssl_mode={mode}{ca}").replace(APP_PASSWORD, "Wr0ng-pw!")
    denied_before = servers.plain.status("Access_denied_errors")
    with pytest.raises(InsecureTransportError, match="does not offer TLS") as info:
        connect(url)
    assert info.value.check == "no_tls"
    assert servers.plain.status("Access_denied_errors") == denied_before


def test_wrong_password_is_counted_when_sent(servers: TLSServers) -> None:
    """The control for the test above: the counter does move when credentials are sent."""
    url = servers.plain.url(CERT_HOST, "pymysql", "ssl_mode=disabled").replace(APP_PASSWORD, "Wr0ng-pw!")
    before = servers.plain.status("Access_denied_errors")
    with pytest.raises(sa.exc.OperationalError):
        server_cipher_sync(url)
    assert servers.plain.status("Access_denied_errors") == before + 1


def test_required_encrypts_without_verifying(servers: TLSServers, path: tuple[Any, str]) -> None:
    connect, driver = path
    assert connect(servers.tls.url("127.0.0.1", driver, "ssl_mode=required")) != ""


def test_preferred_falls_back_to_plaintext_only_when_tls_is_not_offered(servers: TLSServers,
                                                                       path: tuple[Any, str]) -> None:
    connect, driver = path
    assert connect(servers.tls.url("127.0.0.1", driver, "ssl_mode=preferred")) != ""
    assert connect(servers.plain.url("127.0.0.1", driver, "ssl_mode=preferred")) == ""


def test_disabled_and_loopback_default_are_plaintext(servers: TLSServers, path: tuple[Any, str]) -> None:
    connect, driver = path
    assert connect(servers.tls.url("127.0.0.1", driver, "ssl_mode=disabled")) == ""
    assert connect(servers.tls.url("127.0.0.1", driver)) == ""  # loopback, no TLS settings


def test_settings_from_env_reach_both_drivers(servers: TLSServers, path: tuple[Any, str]) -> None:
    connect, _ = path
    env = {
        "SVC_DB_HOST": CERT_HOST,
        "SVC_DB_PORT": str(servers.tls.port),
        "SVC_DB_USER": "app",
        "SVC_DB_PASSWORD": APP_PASSWORD,
        "SVC_DB_NAME": "app",
        "SVC_DB_SSL_MODE": "verify_identity",
        "SVC_DB_SSL_CA": str(servers.ca_file),
    }
    assert connect(DatabaseSettings.from_env("SVC", env)) != ""


def test_check_reports_tls_version_cipher_and_verification(servers: TLSServers) -> None:
    url = servers.tls.url(CERT_HOST, "pymysql", f"ssl_ca={servers.ca_file}")
    result = subprocess.run([sys.executable, "-m", "tidb_compat.cli", "check", "--url", url, "--json"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    tls = json.loads(result.stdout)["tls"]
    assert tls["version"] in {"TLSv1.2", "TLSv1.3"}
    assert tls["cipher"]
    assert (tls["mode"], tls["chain_verified"], tls["hostname_verified"]) == ("verify_identity", True, True)
    assert APP_PASSWORD not in result.stdout
    plain = subprocess.run(
        [sys.executable, "-m", "tidb_compat.cli", "check", "--url",
         servers.tls.url("127.0.0.1", "pymysql", "ssl_mode=required")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert plain.returncode == 0, plain.stderr
    assert "chain NOT verified; host name NOT verified" in plain.stdout


# -- no server needed --------------------------------------------------------------------

@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", "disabled"), ("127.0.0.1", "disabled"), ("127.8.9.10", "disabled"), ("::1", "disabled"),
        ("[::1]", "disabled"), ("db.internal", "verify_identity"), ("10.0.0.5", "verify_identity"),
        ("gateway01.eu-central-1.prod.aws.tidbcloud.com", "verify_identity"),
        ("localhost.example.com", "verify_identity"),
    ],
)
def test_default_mode_by_host_as_written(host: str, expected: str) -> None:
    settings = DatabaseSettings(drivername="mysql+pymysql", host=host, username="u", database="d")
    tls = resolve(settings)
    assert tls.mode == expected
    if expected == "verify_identity":
        assert tls.ca_file == find_system_ca_bundle()  # TiDB Cloud chains to a public root


def test_missing_ca_file_is_a_configuration_error_before_connecting(tmp_path: Path) -> None:
    env = {"SVC_DB_HOST": "db.example.invalid", "SVC_DB_SSL_CA": str(tmp_path / "missing.pem")}
    with pytest.raises(ConfigurationError, match=r"^SVC_DB_SSL_CA: CA file .* does not exist"):
        tidb_compat.create_engine(DatabaseSettings.from_env("SVC", env))
    (tmp_path / "empty.pem").write_text("")
    with pytest.raises(ConfigurationError, match=r"^url \(ssl_ca\): CA file .* is empty"):
        tidb_compat.create_async_engine(f"mysql+aiomysql://u@db.example.invalid/x?ssl_ca={tmp_path / 'empty.pem'}")
    with pytest.raises(ConfigurationError, match="is not a file"):
        tidb_compat.create_engine(f"mysql+pymysql://u@db.example.invalid/x?ssl_ca={tmp_path}")


def test_ca_with_a_non_verifying_mode_is_contradictory() -> None:
    with pytest.raises(ConfigurationError, match="does not verify certificates"):
        tidb_compat.create_engine("mysql+pymysql://u@db/x?ssl_mode=required&ssl_ca=/etc/ssl/certs/ca-certificates.crt")


def test_minimum_tls_version_is_1_2() -> None:
    import ssl

    tls = resolve(DatabaseSettings(drivername="mysql", host="db.example.com"))
    assert tls.ssl_context().minimum_version == ssl.TLSVersion.TLSv1_2
    assert tls.ssl_context().check_hostname is True


@pytest.mark.parametrize(
    ("mode", "sslmode"),
    [("disabled", "disable"), ("preferred", "prefer"), ("required", "require"),
     ("verify_ca", "verify-ca"), ("verify_identity", "verify-full")],
)
def test_same_mode_means_the_same_on_psycopg(mode: str, sslmode: str) -> None:
    tls = resolve(DatabaseSettings(drivername="postgresql", host="db.example.com", ssl_mode=mode))
    args = load_backend("postgresql").driver.tls_connect_args(tls, is_async=False)
    assert args["sslmode"] == sslmode
    assert ("sslrootcert" in args) is (mode in ("verify_ca", "verify_identity"))


def test_postgresql_refuses_plaintext_when_tls_is_required(backend_name: str, database_url: str) -> None:
    """The local PostgreSQL has no TLS: required must refuse, naming the check."""
    if backend_name != "postgresql":
        pytest.skip("needs the postgresql session's server")
    with tidb_compat.create_engine(database_url, poolclass=sa.pool.NullPool).connect() as connection:
        if connection.exec_driver_sql("SHOW ssl").scalar() == "on":
            pytest.skip("this PostgreSQL offers TLS")
    settings = DatabaseSettings.from_url(database_url, ssl_mode="required")
    with pytest.raises(InsecureTransportError, match="does not offer TLS"):
        server_cipher_pg(settings)


def server_cipher_pg(settings: DatabaseSettings) -> None:
    engine = tidb_compat.create_engine(settings, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()
