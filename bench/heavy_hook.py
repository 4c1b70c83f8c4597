"""Run the heavy readers' scenario (bench/heavy.py, written with the timeline work) in this run.

The entry point is `bench.heavy.run(args, database) -> dict`. Its options are its own
(`bench.heavy.parse_args([])`'s defaults), with this run's database, load settings and
`--heavy-posts` as the one size. It returns, by size, each reader kind's timeline query times
(`queries`) and home page req/s (`home req/s`), measured in round robin in the same run; the
reader following 50 is the baseline the others are compared with. A result that already says
`readers: {name: {"rps": ...}}` and `baseline` is taken as it is. Until bench/heavy.py exists,
the report says the heavy readers were not measured.
"""

from __future__ import annotations

import argparse
import importlib
import traceback
from typing import Any

from bench.databases import Database

HEAVY_RATIO = 0.8  # each reader's req/s over the baseline reader's (following 50), same run
BASELINE = "follows 50"


def run(args: argparse.Namespace, database: Database) -> dict[str, Any]:
    """Call bench.heavy.run if it is there; never let it sink the rest of the run."""
    try:
        heavy = importlib.import_module("bench.heavy")
    except ModuleNotFoundError as exc:
        if exc.name != "bench.heavy":
            raise
        return {"skipped": "bench/heavy.py is not there yet"}
    entry = getattr(heavy, "run", None)
    if entry is None:
        return {"skipped": "bench/heavy.py has no run(args, database)"}
    options = heavy.parse_args([]) if hasattr(heavy, "parse_args") else argparse.Namespace()
    for name in ("database", "postgres_url", "duration", "rounds", "connections"):
        setattr(options, name, getattr(args, name))
    options.sizes = [args.heavy_posts]
    options.posts = str(args.heavy_posts)
    print(f"== heavy readers (bench/heavy.py, {args.heavy_posts:,} posts)", flush=True)
    try:
        result = entry(options, database)
    except Exception as exc:  # reported; the pages' results are kept
        traceback.print_exc()
        return {"failed": f"{type(exc).__name__}: {exc}"}
    if not isinstance(result, dict):
        return {"failed": f"run() returned {result!r}"}
    return normalise(result)


def normalise(result: dict[str, Any]) -> dict[str, Any]:
    """Add `readers` and `baseline` from heavy.py's by-size figures (its largest size)."""
    if "readers" in result or not result.get("sizes"):
        return result
    label, size = list(result["sizes"].items())[-1]
    rps = size.get("home req/s") or {}
    queries = size.get("queries") or {}
    readers = {
        kind: {
            "rps": rps.get(kind),
            "query_ms": _query_ms(queries.get(kind) or {}, "after"),
            "query_ms_before": _query_ms(queries.get(kind) or {}, "before"),
        }
        for kind in dict.fromkeys([*queries, *rps])
    }
    setup = (
        f"bench/heavy.py: {label} posts; each kind of reader's home page under gunicorn + wrk, "
        "round robin; timeline query ms: the database's time for the statement (median, "
        "in-process), now and with the strategy before issue 13."
    )
    return {**result, "readers": readers, "baseline": BASELINE, "setup": setup}


def _query_ms(row: dict[str, Any], strategy: str) -> float | None:
    """The database's own time for the statement if heavy.py measured it, else the load's."""
    return row.get(f"{strategy} sql ms", row.get(f"{strategy} ms"))


def ratios(heavy: dict[str, Any]) -> dict[str, float] | None:
    """Each reader's req/s over the baseline's; None when there is nothing to compare."""
    readers = heavy.get("readers") or {}
    baseline = heavy.get("baseline", BASELINE)
    if baseline not in readers or not readers[baseline].get("rps"):
        return None
    base = readers[baseline]["rps"]
    return {
        name: round(r["rps"] / base, 3)
        for name, r in readers.items()
        if name != baseline and r.get("rps") is not None
    }
