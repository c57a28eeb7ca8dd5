"""Provisioning SQL per backend, compiled without a server (TiDB included).

What the SQL of each backend's provisioning module looks like, that passwords never appear
in it, and TiDB Cloud's user-name rules (cluster prefix, 32 characters *with* the prefix).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
import sqlalchemy as sa

import tidb_compat
from tidb_compat import ConfigurationError
from tidb_compat.backends import load_backend, registry
from tidb_compat.backends.base.provisioning import Account, BaseProvisioning
from tidb_compat.backends.postgresql.provisioning import scram_sha256_verifier, verify_scram_sha256
from tidb_compat.provisioning import generate_password, provision

PREFIX = "kbFV66oHabEtRud."  # a TiDB Cloud Serverless cluster prefix: 16 characters with the dot
PASSWORD = "Sp3cial-Pa55:word'\\%s"  # quotes, a backslash, a colon and %s must stay out of the SQL
CLOSED = "127.0.0.1:9"  # nothing listens: reaching the connect step raises OperationalError


def compiled(vendor: str, sql: str) -> str:
    return str(sa.text(sql).compile(dialect=load_backend(vendor).dialect()))


# -- TiDB Cloud Serverless: prefix and length ---------------------------------------------------


def test_tidb_prefix_is_derived_from_the_admin_user() -> None:
    provisioning = load_backend("tidb").provisioning
    assert provisioning.user_prefix(f"{PREFIX}root") == PREFIX
    assert provisioning.user_prefix("root") == ""  # self-hosted TiDB
    assert provisioning.user_prefix("john.doe") == ""  # a dotted name is not a cluster prefix
    assert provisioning.user_prefix(None) == ""
    assert provisioning.validate_user_prefix("kbFV66oHabEtRud") == PREFIX
    with pytest.raises(ConfigurationError) as info:
        provisioning.validate_user_prefix("kb'FV.")
    assert info.value.setting == "user_prefix"


def test_tidb_user_names_fit_32_characters_with_the_prefix() -> None:
    provisioning = load_backend("tidb").provisioning
    assert provisioning.account("a" * 16, setting="app_user", prefix=PREFIX, host="%").name == PREFIX + "a" * 16
    with pytest.raises(ConfigurationError) as info:
        provisioning.account("a" * 17, setting="app_user", prefix=PREFIX, host="%")
    assert info.value.setting == "app_user"
    assert "33 characters" in str(info.value) and PREFIX in str(info.value)
    # a name that already carries the prefix is not prefixed twice
    assert provisioning.account(f"{PREFIX}svc_app", setting="app_user", prefix=PREFIX).name == f"{PREFIX}svc_app"


@pytest.mark.parametrize(("app_user", "refused"), [("a" * 17, True), ("a" * 16, False)])
def test_tidb_limit_is_enforced_before_connecting(app_user: str, refused: bool) -> None:
    admin = f"mysql+pymysql://{PREFIX}root:x@{CLOSED}/test?backend=tidb"
    expected: type[Exception] = ConfigurationError if refused else sa.exc.OperationalError
    with pytest.raises(expected) as info:
        provision(admin, database="tc_prov_user_db", app_user=app_user, migrator_user="svc_mig")
    if refused:
        assert isinstance(info.value, ConfigurationError) and info.value.setting == "app_user"


def test_tidb_cloud_hosts_get_the_prefix_rules_without_naming_the_backend() -> None:
    """A ``*.tidbcloud.com`` host selects the TiDB backend before anything connects, so the
    prefix comes from the admin user and the 32-character limit applies up front."""
    admin = f"mysql+pymysql://{PREFIX}root:x@gateway01.eu-central-1.prod.aws.tidbcloud.com:4000/test"
    with pytest.raises(ConfigurationError) as info:
        provision(admin, database="tc_prov_user_db", app_user="tc_prov_project_app", migrator_user="svc_mig")
    assert info.value.setting == "app_user" and "35 characters" in str(info.value)


def test_other_backends_take_no_prefix() -> None:
    with pytest.raises(ConfigurationError) as info:
        provision("postgresql+psycopg://postgres@" + CLOSED + "/postgres", database="tc_db",
                  app_user="a_app", migrator_user="a_mig", user_prefix="kbFV66oHabEtRud.")
    assert info.value.setting == "user_prefix"


# -- the SQL ----------------------------------------------------------------------------------


def test_tidb_sql() -> None:
    backend = load_backend("tidb")
    provisioning = backend.provisioning
    migrator = provisioning.account("tc_user_mig", setting="migrator_user", prefix=PREFIX, host="%")
    app = provisioning.account("tc_user_app", setting="app_user", prefix=PREFIX, host="%")

    (create_db,) = provisioning.create_database_sql("tc_user_db")
    assert create_db == "CREATE DATABASE IF NOT EXISTS `tc_user_db` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"

    (create_user,) = provisioning.create_account_sql(app, PASSWORD)
    assert create_user.sql == f"CREATE USER '{PREFIX}tc_user_app'@'%' IDENTIFIED BY :password"
    assert create_user.params == {"password": PASSWORD}
    sql = compiled("tidb", create_user.sql)
    assert sql == f"CREATE USER '{PREFIX}tc_user_app'@'%%' IDENTIFIED BY %s"  # a bound parameter
    assert PASSWORD not in repr(create_user)

    grants = [compiled("tidb", s.sql) for s in provisioning.grant_sql("tc_user_db", migrator=migrator, app=app)]
    assert grants == [
        f"GRANT ALL PRIVILEGES ON `tc\\_user\\_db`.* TO '{PREFIX}tc_user_mig'@'%%'",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON `tc\\_user\\_db`.* TO '{PREFIX}tc_user_app'@'%%'",
    ]
    assert not any("GRANT OPTION" in g for g in grants)
    assert provisioning.database_grant_sql("tc_user_db", migrator=migrator, app=app) == []
    (drop,) = provisioning.drop_account_sql(app)
    assert drop.sql == f"DROP USER IF EXISTS '{PREFIX}tc_user_app'@'%'"


def test_postgresql_sql_sends_a_scram_verifier() -> None:
    provisioning = load_backend("postgresql").provisioning
    migrator = provisioning.account("tc_user_mig", setting="migrator_user")
    app = provisioning.account("tc_user_app", setting="app_user")
    (create,) = provisioning.create_account_sql(app, PASSWORD)
    sql = compiled("postgresql", create.sql)
    assert PASSWORD not in sql and create.params == {}
    assert sql.startswith('CREATE ROLE "tc_user_app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
    verifier = sql.split("PASSWORD ", 1)[1].strip("'")
    assert verifier.startswith("SCRAM-SHA-256$4096:")
    assert verify_scram_sha256(PASSWORD, verifier)  # the colons survived sqlalchemy.text()

    server = [compiled("postgresql", s.sql) for s in provisioning.grant_sql("tc_user_db", migrator=migrator, app=app)]
    assert 'REVOKE CONNECT, TEMPORARY ON DATABASE "tc_user_db" FROM PUBLIC' in server
    assert 'GRANT ALL PRIVILEGES ON DATABASE "tc_user_db" TO "tc_user_mig"' in server
    assert 'GRANT CONNECT ON DATABASE "tc_user_db" TO "tc_user_app"' in server
    inside = [compiled("postgresql", s.sql)
              for s in provisioning.database_grant_sql("tc_user_db", migrator=migrator, app=app)]
    assert 'GRANT USAGE, CREATE ON SCHEMA public TO "tc_user_mig"' in inside
    assert (
        'ALTER DEFAULT PRIVILEGES FOR ROLE "tc_user_mig" IN SCHEMA public '
        'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "tc_user_app"'
    ) in inside
    assert not any("GRANT OPTION" in s for s in server + inside)


@pytest.mark.parametrize("vendor", ["tidb", "mysql", "mariadb", "postgresql"])
def test_passwords_never_appear_in_sql(vendor: str) -> None:
    provisioning = load_backend(vendor).provisioning
    account = provisioning.account("tc_app", setting="app_user", host="%" if provisioning.account_hosts else None)
    for statement in provisioning.create_account_sql(account, PASSWORD) + provisioning.set_password_sql(
        account, PASSWORD
    ):
        assert PASSWORD not in statement.sql
        assert PASSWORD not in compiled(vendor, statement.sql)
        assert PASSWORD not in repr(statement)


def test_mysql_family_grants_name_only_their_database() -> None:
    """``_`` is a LIKE wildcard in database-level GRANTs: the name is escaped."""
    provisioning = load_backend("mariadb").provisioning
    assert provisioning.grant_pattern("tc_user_db") == "tc\\_user\\_db"


@pytest.mark.parametrize("vendor", ["tidb", "mysql", "mariadb", "postgresql", "sqlite"])
def test_every_backend_brings_its_provisioning(vendor: str) -> None:
    provisioning = load_backend(vendor).provisioning
    assert isinstance(provisioning, BaseProvisioning)
    assert type(provisioning).__module__ == f"tidb_compat.backends.{vendor}.provisioning"
    assert provisioning.supports_accounts != provisioning.database_is_file


# -- identifiers, hosts and passwords: refused before anything connects ----------------------


ADMIN_URLS = {
    "tidb": f"mysql+pymysql://{PREFIX}root:x@{CLOSED}/test?backend=tidb",
    "mariadb": f"mysql+pymysql://root@{CLOSED}/?backend=mariadb",
    "postgresql": f"postgresql+psycopg://postgres@{CLOSED}/postgres",
}
BAD_NAMES = [
    "tc_db'; DROP DATABASE mysql; --",
    "tc`db",
    'tc"db',
    "tc;db",
    "tc db",
    "tc\tdb",
    "tc\ndb",
    "tc-db",
    "tc.db",
    "Tc_Db",
    "1tc",
    "",
    "x" * 100,
]


@pytest.mark.parametrize("vendor", list(ADMIN_URLS))
@pytest.mark.parametrize("setting", ["database", "app_user", "migrator_user"])
@pytest.mark.parametrize("bad", BAD_NAMES)
def test_invalid_identifiers_are_refused_before_any_sql(vendor: str, setting: str, bad: str) -> None:
    names = {"database": "tc_prov_db", "app_user": "tc_app", "migrator_user": "tc_mig"}
    names[setting] = bad
    with pytest.raises(ConfigurationError) as info:
        provision(ADMIN_URLS[vendor], **names)
    assert info.value.setting == setting


@pytest.mark.parametrize(("vendor", "setting", "name"), [
    ("mariadb", "database", "mysql"),
    ("tidb", "database", "metrics_schema"),
    ("postgresql", "database", "template1"),
    ("mariadb", "app_user", "root"),
    ("postgresql", "app_user", "postgres"),
    ("postgresql", "migrator_user", "pg_monitor_x"),
])
def test_system_databases_and_accounts_are_refused(vendor: str, setting: str, name: str) -> None:
    names = {"database": "tc_prov_db", "app_user": "tc_app", "migrator_user": "tc_mig", setting: name}
    with pytest.raises(ConfigurationError) as info:
        provision(ADMIN_URLS[vendor], **names)
    assert info.value.setting == setting


def test_app_and_migrator_must_differ() -> None:
    with pytest.raises(ConfigurationError):
        provision(ADMIN_URLS["mariadb"], database="tc_db", app_user="tc_same", migrator_user="tc_same")


@pytest.mark.parametrize(("vendor", "host"), [("mariadb", "%'; DROP USER root; --"), ("mariadb", "a b"),
                                              ("postgresql", "10.0.0.%")])
def test_bad_account_hosts_are_refused(vendor: str, host: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        provision(ADMIN_URLS[vendor], database="tc_db", app_user="tc_app", migrator_user="tc_mig", account_host=host)
    assert info.value.setting == "account_host"


def test_valid_input_reaches_the_server() -> None:
    """The refusals above happen before connecting: valid input gets as far as the (closed) port."""
    for url in ADMIN_URLS.values():
        with pytest.raises(sa.exc.OperationalError):
            provision(url, database="tc_prov_db", app_user="tc_app", migrator_user="tc_mig",
                      app_password="Valid-Pa55word")


@pytest.mark.parametrize("password", [
    "Sh0rt!a",  # 7 characters
    "lowercase-only-1",
    "UPPERCASE-ONLY-1",
    "No-Digits-Here",
    "NoSpecial123",
    "Has Space-1a",
    "Ünïcode-Pa55",
    "Tab\tPa55-word",
])
def test_given_passwords_follow_the_policy(password: str) -> None:
    for url in ADMIN_URLS.values():
        with pytest.raises(ConfigurationError) as info:
            provision(url, database="tc_db", app_user="tc_app", migrator_user="tc_mig", migrator_password=password)
        assert info.value.setting == "migrator_password"
        assert password not in str(info.value)


def test_generated_passwords_meet_every_backend_policy() -> None:
    policies = [backend_class().provisioning for backend_class in registry]
    passwords = {generate_password() for _ in range(200)}
    assert len(passwords) == 200
    for password in passwords:
        assert len(password) == 32
        assert all(not p.password_problems(password) for p in policies)
        assert set(password) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
    with pytest.raises(ConfigurationError):
        generate_password(8)


# -- SCRAM-SHA-256 ------------------------------------------------------------------------------


def test_scram_verifier_matches_the_rfc_7677_exchange() -> None:
    """RFC 7677 section 3: user "user", password "pencil".  A verifier made from the RFC's salt
    must accept the RFC client's proof and produce the RFC server's signature."""
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    verifier = scram_sha256_verifier("pencil", salt=salt)
    _, rest = verifier.split("$", 1)
    _, keys = rest.split("$", 1)
    stored_key, server_key = (base64.b64decode(k) for k in keys.split(":"))
    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    auth_message = (
        "n=user,r=rOprNGfwEbeRWgbNEkqO,"
        f"r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
        f"c=biws,r={nonce}"
    ).encode()
    proof = base64.b64decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    client_signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
    client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
    assert hashlib.sha256(client_key).digest() == stored_key
    server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
    assert base64.b64encode(server_signature).decode() == "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    assert verify_scram_sha256("pencil", verifier)
    assert not verify_scram_sha256("pencil2", verifier)
    assert not verify_scram_sha256("pencil", "md5abc")


def test_scram_salts_are_random() -> None:
    first, second = scram_sha256_verifier("Pa55-word"), scram_sha256_verifier("Pa55-word")
    assert first != second
    assert verify_scram_sha256("Pa55-word", first) and verify_scram_sha256("Pa55-word", second)


def test_account_repr_has_no_password() -> None:
    assert str(Account("x", "%")) == "'x'@'%'"
    assert str(Account("x")) == "x"
    assert tidb_compat.ConfigurationError is ConfigurationError
