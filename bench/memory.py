"""Section 6: peak memory reading many ORM rows, streamed with ``yield_per`` or loaded whole.

Each measurement runs in a child process of its own (``python -m bench.memory URL MODE ROWS``):
it connects and runs a small query first (imports, pool, compiled statement), notes its resident
set size, reads ``ROWS`` rows of ``bench_stream`` (PortableJSON + UTCDateTime columns) and
reports the high-water mark (``VmHWM``) above that baseline.  Streaming uses
``execution_options(yield_per=1000)`` (a server-side cursor on MariaDB and PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import subprocess
import sys
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

import tidb_compat

from .common import REPO, Target, log
from .models import StreamRow

BATCH = 10_000
YIELD_PER = 1000
CREATED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(url: str, mode: str, rows: int) -> dict[str, Any]:
    engine = tidb_compat.create_engine(url)
    statement = sa.select(StreamRow).where(StreamRow.id < rows).order_by(StreamRow.id)
    warm = sa.select(StreamRow).where(StreamRow.id < 10).order_by(StreamRow.id)
    with Session(engine) as session:
        list(session.scalars(warm.execution_options(yield_per=YIELD_PER)))
        session.scalars(warm).all()
    gc.collect()
    baseline = _status_kib("VmRSS")
    count = 0
    with Session(engine) as session:
        if mode == "stream":
            for _ in session.scalars(statement.execution_options(yield_per=YIELD_PER)):
                count += 1
        else:
            loaded = session.scalars(statement).all()
            count = len(loaded)
            del loaded
    peak = _status_kib("VmHWM")
    engine.dispose()
    return {"mode": mode, "rows": count, "baseline_mib": round(baseline / 1024, 1),
            "peak_mib": round(peak / 1024, 1), "peak_above_baseline_mib": round((peak - baseline) / 1024, 1)}


def populate(found: Target, rows: int) -> None:
    engine = tidb_compat.create_engine(found.settings())
    try:
        with engine.begin() as connection:
            connection.execute(sa.delete(StreamRow))
        for start in range(0, rows, BATCH):
            values = [
                {"id": i, "name": f"row {i:07d} of the streaming benchmark",
                 "doc": {"i": i, "tags": ["a", "b", "c"], "note": "x" * 40, "score": i / 3 + 0.25},
                 "created_at": CREATED + dt.timedelta(seconds=i)}
                for i in range(start, min(rows, start + BATCH))
            ]
            with engine.begin() as connection:
                connection.execute(sa.insert(StreamRow), values)
    finally:
        engine.dispose()


def run(found: Target, *, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    log(f"memory on {found.label} ({', '.join(map(str, sizes))} rows)")
    populate(found, max(sizes))
    results: list[dict[str, Any]] = []
    try:
        for mode in ("stream", "all"):
            for rows in sizes:
                done = subprocess.run(
                    [sys.executable, "-m", "bench.memory", found.url, mode, str(rows)], cwd=REPO,
                    capture_output=True, text=True, timeout=600, check=True,
                )
                measured = json.loads(done.stdout.strip().splitlines()[-1])
                results.append({"backend": found.backend, "requested_rows": rows, **measured})
    finally:
        engine = tidb_compat.create_engine(found.settings())
        with engine.begin() as connection:
            connection.execute(sa.delete(StreamRow))
        engine.dispose()
    return results


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
