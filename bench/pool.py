"""Section 5: pool behaviour through the latency proxy.

- checkout: ``engine.connect()`` of a pooled connection used moments ago (timed alone), and
  the whole cycle checkout + ``SELECT 1`` + return with its round trips, for SQLAlchemy's
  engine with ``pool_pre_ping=True`` (pings at every checkout), tidb_compat with
  ``pool_ping_after=0`` (the same always-ping) and tidb_compat's default idle-aware ping
  (``pool_ping_after=1.0``: pings only a connection unused for longer, or whose socket shows
  the server wrote to it);
- reconnect after recycle: ``pool_recycle`` of 0.1 s and a pause longer than that before each
  checkout, so every checkout replaces the connection (TCP, handshake, session setup) and
  runs ``SELECT 1``; next to a raw PyMySQL/psycopg connect + ``SELECT 1``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

import tidb_compat

from .common import Target, log, measure, plaintext_args, raw_driver

RECYCLE = 0.1
"""Seconds: the recycle age in the reconnect benchmark."""


def run(found: Target, *, checkouts: int, reconnects: int, repeats: int) -> list[dict[str, Any]]:
    log(f"pool behaviour on {found.label}")
    engines: dict[str, sa.Engine] = {
        "SQLAlchemy pool_pre_ping=True": sa.create_engine(found.url, pool_pre_ping=True,
                                                          connect_args=plaintext_args(found.backend)),
        "tidb_compat pool_ping_after=0 (always ping)": tidb_compat.create_engine(found.settings(pool_ping_after=0)),
        "tidb_compat default (idle-aware ping)": tidb_compat.create_engine(found.settings()),
    }
    results: list[dict[str, Any]] = []
    try:
        for engine in engines.values():
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1").all()
        checkout_times = _checkout_seconds(engines, checkouts, repeats)
        cycle_times = measure({name: _cycles(engine, checkouts) for name, engine in engines.items()}, repeats)
        for name, engine in engines.items():
            found.reset_round_trips()
            _cycles(engine, 10)()
            trips = found.round_trips()
            results.append({
                "backend": found.backend, "rtt_ms": found.rtt_ms, "measured_rtt_ms": found.measured_rtt_ms,
                "test": "checkout", "case": name,
                "checkout_ms": round(checkout_times[name] / checkouts * 1000, 3),
                "cycle_ms": round(cycle_times[name] / checkouts * 1000, 3),
                "round_trips_per_cycle": None if trips is None else round(trips / 10, 2),
            })
    finally:
        for engine in engines.values():
            engine.dispose()
    results.extend(_reconnects(found, reconnects))
    return results


def _checkout_seconds(engines: dict[str, sa.Engine], count: int, repeats: int) -> dict[str, float]:
    """Median (over repeats) of the time spent in ``engine.connect()`` alone for ``count``
    checkouts; returning the connection to the pool is not timed."""
    spent: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(repeats):
        for name, engine in engines.items():
            total = 0.0
            for _ in range(count):
                started = time.perf_counter()
                connection = engine.connect()
                total += time.perf_counter() - started
                connection.close()
            spent[name].append(total)
    return {name: statistics.median(values) for name, values in spent.items()}


def _cycles(engine: sa.Engine, count: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(count):
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1").all()
    return run


def _reconnects(found: Target, count: int) -> list[dict[str, Any]]:
    engines: dict[str, sa.Engine] = {
        "SQLAlchemy (pre-ping, recycle)": sa.create_engine(found.url, pool_pre_ping=True, pool_recycle=RECYCLE,
                                                           connect_args=plaintext_args(found.backend)),
        "tidb_compat (recycle)": tidb_compat.create_engine(found.settings(), pool_recycle=RECYCLE),
    }
    raw = raw_driver(found)
    times: dict[str, list[float]] = {name: [] for name in [*engines, "raw connect + SELECT 1"]}
    trips: dict[str, float | None] = {}
    try:
        for engine in engines.values():
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1").all()
        for _ in range(count):
            for name, engine in engines.items():
                time.sleep(RECYCLE * 1.5)
                found.reset_round_trips()
                started = time.perf_counter()
                with engine.connect() as connection:
                    connection.exec_driver_sql("SELECT 1").all()
                times[name].append(time.perf_counter() - started)
                trips[name] = found.round_trips()
            found.reset_round_trips()
            started = time.perf_counter()
            connection = raw.connect()
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
            times["raw connect + SELECT 1"].append(time.perf_counter() - started)
            trips["raw connect + SELECT 1"] = found.round_trips()
            connection.close()
    finally:
        for engine in engines.values():
            engine.dispose()
    return [
        {"backend": found.backend, "rtt_ms": found.rtt_ms, "measured_rtt_ms": found.measured_rtt_ms,
         "test": "reconnect", "case": name, "reconnect_ms": round(statistics.median(values) * 1000, 3),
         "round_trips": trips.get(name), "samples": len(values)}
        for name, values in times.items()
    ]
