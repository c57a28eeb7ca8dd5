"""Run the benchmarks and write BENCHMARKS.md and bench/results.json.

    python -m bench                       # everything: MariaDB, PostgreSQL, SQLite, 0/1/5 ms RTT
    python bench/run.py --no-latency      # loopback only (no latency proxy)
    python -m bench --backends sqlite --quick --markdown /tmp/B.md --json /tmp/r.json
    python -m bench --render              # rewrite BENCHMARKS.md from bench/results.json

MariaDB (127.0.0.1:3306, root) and PostgreSQL (127.0.0.1:5432, postgres) by default
(``TIDB_COMPAT_BENCH_MARIADB_URL`` / ``TIDB_COMPAT_BENCH_POSTGRESQL_URL`` override); the
database ``tidb_compat_bench`` is created, and dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # python bench/run.py: import the package from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import concurrency, inserts, memory, pool, reads, types_overhead
from bench.common import REPO, Target, drop_database, ensure_database, log, target
from bench.fixtures import create_tables, drop_tables
from bench.machine import describe
from bench.report import render

SECTIONS = ("inserts", "types", "reads", "concurrency", "pool", "memory")
LATENCIES_MS = (1.0, 5.0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", default="mariadb,postgresql,sqlite",
                        help="comma-separated: mariadb, postgresql, sqlite (default: all three)")
    parser.add_argument("--latency", action=argparse.BooleanOptionalAction, default=True,
                        help="also run through the loopback latency proxy at 1 ms and 5 ms RTT (default: on)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated, of: {', '.join(SECTIONS)}")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case; the median is reported (default 3)")
    parser.add_argument("--rows", type=int, default=10_000, help="rows for bulk inserts and type overhead")
    parser.add_argument("--quick", action="store_true", help="small sizes, for trying the harness out")
    parser.add_argument("--markdown", type=Path, default=REPO / "BENCHMARKS.md")
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument("--render", action="store_true", help="only rewrite the markdown from the JSON file")
    return parser


@contextmanager
def _database(backend: str) -> Iterator[Path | None]:
    """The benchmark database of ``backend`` (a temporary file for SQLite), dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="tidb_compat_bench_") as folder:
            yield Path(folder) / "bench.sqlite3"
        return
    ensure_database(backend)
    try:
        yield None
    finally:
        drop_database(backend)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.render:
        args.markdown.write_text(render(json.loads(args.json.read_text(encoding="utf-8"))), encoding="utf-8")
        log(f"wrote {args.markdown}")
        return 0
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    sections = {name.strip() for name in args.sections.split(",") if name.strip()}
    unknown = sections - set(SECTIONS) | set(backends) - {"mariadb", "postgresql", "sqlite"}
    if unknown:
        _parser().error(f"unknown backends or sections: {', '.join(sorted(unknown))}")
    quick = args.quick
    rows = min(args.rows, 2000) if quick else args.rows
    repeats = 1 if quick else max(1, args.repeats)
    memory_sizes = (5_000, 20_000) if quick else (25_000, 100_000)
    started = time.time()
    results: dict[str, Any] = {
        "settings": {"backends": backends, "latency": args.latency, "latencies_ms": [0.0, *LATENCIES_MS]
                     if args.latency else [0.0], "repeats": repeats, "rows": rows, "quick": quick,
                     "memory_rows": list(memory_sizes), "sections": sorted(sections)},
        "bulk_insert": [], "types": [], "reads": [], "concurrency": [], "pool": [], "memory": [], "rtt": [],
    }
    servers: dict[str, str] = {}
    for backend in backends:
        with _database(backend) as sqlite_path, target(backend, 0.0, sqlite_path) as found:
            servers[backend] = _server_version(found.url)
            results["rtt"].append(_rtt_record(found))
            fixture = create_tables(found)
            try:
                if "inserts" in sections:
                    results["bulk_insert"] += inserts.run(found, fixture, rows=rows, repeats=repeats, quick=quick)
                if "types" in sections:
                    results["types"] += types_overhead.run(found, rows=rows, repeats=max(repeats, 5))
                if "reads" in sections:
                    results["reads"] += reads.run(found, fixture, repeats=repeats, quick=quick)
                if "memory" in sections:
                    results["memory"] += memory.run(found, sizes=memory_sizes)
                if backend != "sqlite" and args.latency:
                    _with_latency(backend, fixture, sections, results, rows=rows, repeats=repeats, quick=quick)
            finally:
                drop_tables(found)
    results["meta"] = describe(servers, started=started, finished=time.time())
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    args.markdown.write_text(render(results), encoding="utf-8")
    log(f"wrote {args.json} and {args.markdown} in {time.time() - started:.0f} s")
    return 0


def _with_latency(backend: str, fixture: Any, sections: set[str], results: dict[str, Any], *, rows: int,
                  repeats: int, quick: bool) -> None:
    for rtt in LATENCIES_MS:
        with target(backend, rtt) as found:
            results["rtt"].append(_rtt_record(found))
            if "inserts" in sections:
                results["bulk_insert"] += inserts.run(found, fixture, rows=rows, repeats=repeats, quick=quick)
            if rtt != 1.0:
                continue
            if "reads" in sections:
                results["reads"] += reads.run(found, fixture, repeats=repeats, quick=quick)
            if "pool" in sections:
                results["pool"] += pool.run(found, checkouts=50 if quick else 200, reconnects=5 if quick else 15,
                                            repeats=repeats)
            if "concurrency" in sections and backend == "mariadb":
                results["concurrency"] += concurrency.run(found, fixture, operations=500 if quick else 1000,
                                                          repeats=repeats)


def _rtt_record(found: Target) -> dict[str, Any]:
    return {"backend": found.backend, "rtt_ms": found.rtt_ms, "measured_rtt_ms": found.measured_rtt_ms,
            "loopback_rtt_ms": found.loopback_rtt_ms,
            "proxy_delay_each_way_ms": None if found.proxy is None else round(found.proxy.one_way * 1000, 3)}


def _server_version(url: str) -> str:
    import sqlalchemy as sa

    import tidb_compat

    engine = tidb_compat.create_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                return "SQLite " + str(connection.exec_driver_sql("SELECT sqlite_version()").scalar_one())
            return str(connection.execute(sa.text("SELECT version()")).scalar_one())
    finally:
        engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
