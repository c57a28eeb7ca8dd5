"""The machine and software a run measured: cores, CPU model, memory, versions, date."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import sqlite3
from pathlib import Path
from typing import Any

PACKAGES = ("SQLAlchemy", "PyMySQL", "aiomysql", "psycopg", "aiosqlite", "orjson", "greenlet")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def describe(servers: dict[str, str], *, started: float, finished: float) -> dict[str, Any]:
    from tidb_compat.types.json import json_codec

    return {
        "date": dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": round(finished - started),
        "machine": {"cores": os.cpu_count(), "cpu": _cpu_model(), "memory_gib": _memory_gib(),
                    "os": platform.platform()},
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "sqlite_library": sqlite3.sqlite_version,
        "servers": servers,
        "json_codec": json_codec(),
    }
