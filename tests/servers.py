"""Throwaway ``mariadbd`` servers for TLS, restart and fault tests.

Each server gets its own datadir, socket and random loopback port, runs as the ``mysql``
user, and is stopped by its own pid.  ``stop()`` then ``start()`` (or ``restart()``) brings
it back on the same port with the same data.  Files the server must read (datadir, keys) live in a
directory the ``mysql`` user can read: pytest's temporary folders are 0700 root.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

INSTALL_DB = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"

APP_USER = "app"
APP_PASSWORD = "Str0ng-Pa55!word"  # a throwaway server's test account, never a real secret


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def available() -> str | None:
    """``None`` when throwaway servers can be started here, else the reason."""
    if not (os.path.exists(INSTALL_DB) and os.path.exists(MARIADBD)):
        return "mariadb-install-db / mariadbd are not installed"
    try:
        pwd.getpwnam("mysql")
    except KeyError:
        return "there is no mysql user"
    if os.geteuid() != 0:
        return "starting mariadbd as the mysql user needs root"
    return None


def require_throwaway(backend_name: str) -> None:
    """Skip unless throwaway servers can run in this session (the mariadb session, where they
    are started); under ``CI=true`` an unavailable mariadbd fails instead of skipping."""
    import pytest

    from tidb_compat.testing import in_ci

    if backend_name != "mariadb":
        pytest.skip("throwaway mariadbd servers run in the mariadb session")
    reason = available()
    if reason is not None:
        if in_ci():
            pytest.fail(f"throwaway mariadbd unavailable under CI=true: {reason}", pytrace=False)
        pytest.skip(reason)


@dataclass
class ThrowawayMariaDB:
    """One ``mariadbd`` on 127.0.0.1; ``tls`` = (ca, cert, key) PEM paths or None."""

    root: Path
    tls: tuple[Path, Path, Path] | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def socket_path(self) -> Path:
        return self.root / "mysqld.sock"

    def start(self, timeout: float = 60.0) -> None:
        uid = pwd.getpwnam("mysql")
        os.chmod(self.root, 0o755)
        if not self.datadir.exists():
            subprocess.run(
                [INSTALL_DB, "--no-defaults", f"--datadir={self.datadir}", "--user=mysql",
                 "--auth-root-authentication-method=normal", "--skip-test-db"],
                check=True, capture_output=True, timeout=120,
            )
        for path in [self.root, *self.root.rglob("*")]:
            os.chown(path, uid.pw_uid, uid.pw_gid)
        args = [
            MARIADBD, "--no-defaults", f"--datadir={self.datadir}", f"--port={self.port}",
            f"--socket={self.socket_path}", "--bind-address=127.0.0.1", "--user=mysql",
            "--skip-name-resolve", "--innodb-buffer-pool-size=16M", "--skip-log-bin",
            f"--pid-file={self.root / 'mysqld.pid'}", f"--log-error={self.root / 'error.log'}",
        ]
        if self.tls is not None:
            ca, cert, key = self.tls
            args += [f"--ssl-ca={ca}", f"--ssl-cert={cert}", f"--ssl-key={key}"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not self._accepting():
            if self.process.poll() is not None:
                log = (self.root / "error.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}:\n{log}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("mariadbd did not answer in time")
            time.sleep(0.2)
        connection = self.admin()
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE USER IF NOT EXISTS '{APP_USER}'@'%' IDENTIFIED BY '{APP_PASSWORD}'")
            cursor.execute(f"GRANT ALL ON *.* TO '{APP_USER}'@'%'")
            cursor.execute("CREATE DATABASE IF NOT EXISTS app")
        connection.close()

    def _accepting(self) -> bool:
        """True once the server accepts on its socket (probed without a driver, which would
        leak a socket on failure)."""
        if not self.socket_path.exists():
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(2)
            try:
                probe.connect(str(self.socket_path))
                return bool(probe.recv(1))  # the server's handshake packet
            except OSError:
                return False

    def admin(self) -> pymysql.connections.Connection[pymysql.cursors.Cursor]:
        """A root connection over the unix socket (no TCP, no TLS)."""
        return pymysql.connect(unix_socket=str(self.socket_path), user="root", password="", autocommit=True)

    def status(self, name: str) -> int:
        """A global status counter, read over the admin socket."""
        connection = self.admin()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
                row = cursor.fetchone()
        finally:
            connection.close()
        return int(row[1]) if row else 0

    def url(self, host: str = "127.0.0.1", driver: str = "pymysql", query: str = "") -> str:
        suffix = f"?{query}" if query else ""
        return f"mysql+{driver}://{APP_USER}:{APP_PASSWORD}@{host}:{self.port}/app{suffix}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def restart(self, timeout: float = 60.0) -> None:
        """Stop the server and start it again on the same port and datadir: every
        connection is cut, the data is kept."""
        self.stop()
        self.start(timeout)

    def stop(self) -> None:
        """Shut the server down (SIGTERM, then SIGKILL after 30 s); ``start`` brings it back
        on the same port and datadir."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def readable_tempdir(prefix: str) -> Iterator[Path]:
    """A temporary directory the mysql user can enter (removed afterwards)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
