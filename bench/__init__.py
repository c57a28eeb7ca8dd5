"""tidb_compat benchmarks: ``python -m bench`` (or ``nox -s bench``) writes BENCHMARKS.md and
bench/results.json.  Figures are ratios measured side by side in one run (medians of a few
repeats); nothing here asserts a timing."""

from __future__ import annotations
