"""DatabaseSettings: environment parsing, URLs, redaction (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tidb_compat
from tidb_compat import ConfigurationError, DatabaseSettings
from tidb_compat.settings import redact_url

SECRET = "S3cr3t!pw"


def test_nothing_set_means_embedded_sqlite_file() -> None:
    settings = DatabaseSettings.from_env("USER_SERVICE", {}, default_database="design_synapse_user_db")
    assert settings.family == "sqlite"
    assert settings.sqlite_path == Path(".data/design_synapse_user_db.sqlite3")
    assert settings.url.drivername == "sqlite+pysqlite"
    assert settings.async_url.drivername == "sqlite+aiosqlite"


def test_database_url_wins_and_gets_both_drivers() -> None:
    env = {
        "P_DATABASE_URL": f"mysql://kbFV66oHabEtRud.root:{SECRET}@gateway01.eu-central-1.prod.aws.tidbcloud.com:4000/test",
        "P_DB_HOST": "ignored.example.com",
        "P_DB_SSL_MODE": "verify_identity",
        "P_DB_POOL_SIZE": "3",
        "P_DB_POOL_PRE_PING": "false",
    }
    settings = DatabaseSettings.from_env("P", env)
    assert settings.host == "gateway01.eu-central-1.prod.aws.tidbcloud.com"
    assert settings.username == "kbFV66oHabEtRud.root"
    assert settings.url.drivername == "mysql+pymysql"
    assert settings.async_url.drivername == "mysql+aiomysql"
    assert settings.ssl_mode == "verify_identity"
    assert settings.pool_size == 3
    assert settings.pool_pre_ping is False  # the string "false" is False


def test_discrete_variables() -> None:
    env = {
        "USER_SERVICE_DB_HOST": "db.internal",
        "USER_SERVICE_DB_PORT": "4000",
        "USER_SERVICE_DB_USER": "app",
        "USER_SERVICE_DB_PASSWORD": SECRET,
        "USER_SERVICE_DB_NAME": "design_synapse_user_db",
        "USER_SERVICE_DB_BACKEND": "tidb",
        "USER_SERVICE_DB_SSL_CA": "/etc/ssl/certs/ca-certificates.crt",
        "USER_SERVICE_DB_POOL_TIMEOUT": "2.5",
        "USER_SERVICE_DB_ECHO": "no",
    }
    settings = DatabaseSettings.from_env("user_service", env)
    assert (settings.host, settings.port, settings.database) == ("db.internal", 4000, "design_synapse_user_db")
    assert settings.backend == "tidb"
    assert settings.pool_timeout == 2.5
    assert settings.echo is False
    assert settings.password == SECRET
    assert settings.url.password == SECRET
    assert settings.source_of("ssl_ca") == "USER_SERVICE_DB_SSL_CA"


def test_discrete_postgresql() -> None:
    env = {"K_DB_HOST": "127.0.0.1", "K_DB_BACKEND": "postgresql", "K_DB_USER": "postgres"}
    settings = DatabaseSettings.from_env("K", env, default_database="design_synapse_knowledge_db")
    assert settings.url.drivername == "postgresql+psycopg"
    assert settings.database == "design_synapse_knowledge_db"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("P_DB_PORT", "forty", "P_DB_PORT: expected an integer"),
        ("P_DB_POOL_PRE_PING", "maybe", "P_DB_POOL_PRE_PING: expected a boolean"),
        ("P_DB_SSL_MODE", "strict", "P_DB_SSL_MODE: expected one of disabled"),
        ("P_DB_POOL_SIZE", "0", "P_DB_POOL_SIZE: must be at least 1"),
        ("P_DB_BACKEND", "oracle", "P_DB_BACKEND: unknown backend"),
    ],
)
def test_bad_values_name_the_variable(variable: str, value: str, message: str) -> None:
    env = {"P_DB_HOST": "h", variable: value}
    with pytest.raises(ConfigurationError) as info:
        DatabaseSettings.from_env("P", env)
    assert str(info.value).startswith(message)
    assert info.value.setting == variable


@pytest.mark.parametrize("mode", ["disabled", "preferred", "required", "verify_ca", "verify_identity", "VERIFY-CA"])
def test_ssl_mode_string_forms(mode: str) -> None:
    settings = DatabaseSettings.from_url(f"mysql+pymysql://u@h/db?ssl_mode={mode}")
    assert settings.ssl_mode == mode.lower().replace("-", "_")
    assert "ssl_mode" not in settings.url.query  # consumed before SQLAlchemy sees the URL


@pytest.mark.parametrize("key", ["ssl_verify_identity", "ssl_disabled", "ssl_verify_cert", "sslmode"])
def test_driver_tls_spellings_are_refused(key: str) -> None:
    with pytest.raises(ConfigurationError, match=f"url \\({key}\\)"):
        DatabaseSettings.from_url(f"mysql+pymysql://u@h/db?{key}=false")


def test_async_driver_url_still_gives_a_sync_url() -> None:
    settings = DatabaseSettings.from_url("mysql+aiomysql://u@h/db")
    assert settings.url.drivername == "mysql+pymysql"
    assert settings.async_url.drivername == "mysql+aiomysql"


@given(password=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789!#%^&()[]{}:/@?=", min_size=12, max_size=40))
def test_password_never_in_repr_or_str(password: str) -> None:
    settings = DatabaseSettings(drivername="mysql+pymysql", host="h", username="u", password=password, database="d")
    for text in (repr(settings), str(settings), settings.redacted()):
        assert "***" in text
        assert password not in text


def test_malformed_url_error_hides_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        DatabaseSettings.from_url(f"mysql://user:{SECRET}@host:notaport/db", setting="P_DATABASE_URL")
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert str(info.value).startswith("P_DATABASE_URL: not a valid database URL")


def test_redact_url_handles_several_urls() -> None:
    text = f"a mysql://u:{SECRET}@h/x and postgresql://p:{SECRET}@q/y"
    assert SECRET not in redact_url(text)


def test_all_library_errors_share_a_base() -> None:
    for error in (tidb_compat.ConfigurationError, tidb_compat.InsecureTransportError,
                  tidb_compat.ForeignKeysNotEnforcedError, tidb_compat.BackendNotFoundError):
        assert issubclass(error, tidb_compat.TidbCompatError)
