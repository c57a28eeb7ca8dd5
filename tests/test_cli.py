"""``tidb-compat check`` against the real server of the session's backend."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

SECRET = "Wr0ng-Pa55word!"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tidb_compat.cli", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_check_reports_server_and_flags(database_url: str, backend_name: str) -> None:
    result = run_cli("check", "--url", database_url, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["vendor"] == backend_name
    assert report["round_trip_ms"] >= 0
    assert "supports_returning" in report["features"]
    if backend_name != "sqlite":
        assert report["session_time_zone"] in {"+00:00", "UTC", "Etc/UTC"}
        assert "tls" in report
    text = run_cli("check", "--url", database_url)
    assert text.returncode == 0
    assert "round trip:" in text.stdout and "features:" in text.stdout


def test_wrong_password_is_one_line_without_the_password(database_url: str, backend_name: str) -> None:
    if backend_name == "sqlite":
        pytest.skip("SQLite has no passwords")
    url = make_url(database_url).set(password=SECRET)
    result = run_cli("check", "--url", url.render_as_string(hide_password=False))
    if result.returncode == 0:
        pytest.skip("the server accepted a wrong password: it uses trust authentication for this user")
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert SECRET not in result.stderr
    assert "Traceback" not in result.stderr
    assert "***" in result.stderr


def test_unreachable_host_is_one_line() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    result = run_cli("check", "--url", f"mysql+pymysql://root:{SECRET}@127.0.0.1:{port}/x")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Can't connect" in result.stderr
    assert SECRET not in result.stderr


def test_configuration_error_exit_code() -> None:
    result = run_cli("check", "--url", f"mysql://u:{SECRET}@db.example.com/x?ssl_ca=/no/such/ca.pem")
    assert result.returncode == 2
    assert "ssl_ca" in result.stderr and "does not exist" in result.stderr
    assert SECRET not in result.stderr


def test_check_from_env_prefix_defaults_to_embedded_sqlite(tmp_path: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tidb_compat.cli", "check", "--env-prefix", "DEMO"],
        capture_output=True, text=True, timeout=120, check=False, cwd=str(tmp_path),
        env={"PATH": "/usr/bin:/bin", "DEMO_DB_NAME": "demo_db", "PYTHONPATH": ":".join(sys.path)},
    )
    assert result.returncode == 0, result.stderr
    assert "SQLite" in result.stdout
