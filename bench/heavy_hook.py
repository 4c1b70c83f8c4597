"""Run the heavy readers' scenario (bench/heavy.py, written with the timeline work) in this run.

The contract: `bench.heavy.run(args, database) -> dict`, where args is this run's options
(duration, rounds, connections, python_loadgen, heavy_posts, results, ...) and database the
run's Database (a fresh SQLite file or PostgreSQL schema per label). The dict it returns holds
`readers`: {name: {"rps": req/s, ...}} measured in the same rounds, and `baseline`: the name of
the reader following 50 whom the others are compared with. Anything else in it is kept in the
JSON. Until bench/heavy.py exists, the report says the heavy readers were not measured.
"""

from __future__ import annotations

import argparse
import importlib
import traceback
from typing import Any

from bench.databases import Database

HEAVY_RATIO = 0.8  # each reader's req/s over the baseline reader's (following 50), same run


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
    print(f"== heavy readers (bench/heavy.py, {args.heavy_posts:,} posts)", flush=True)
    try:
        result = entry(args, database)
    except Exception as exc:  # reported; the pages' results are kept
        traceback.print_exc()
        return {"failed": f"{type(exc).__name__}: {exc}"}
    return result if isinstance(result, dict) else {"failed": f"run() returned {result!r}"}


def ratios(heavy: dict[str, Any]) -> dict[str, float] | None:
    """Each reader's req/s over the baseline's; None when there is nothing to compare."""
    readers = heavy.get("readers") or {}
    baseline = heavy.get("baseline") or next(
        (name for name in readers if "50" in name and "2000" not in name.replace(",", "")), None
    )
    if baseline not in readers or not readers[baseline].get("rps"):
        return None
    base = readers[baseline]["rps"]
    return {
        name: round(r["rps"] / base, 3)
        for name, r in readers.items()
        if name != baseline and r.get("rps") is not None
    }
