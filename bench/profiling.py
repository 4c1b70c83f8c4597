"""Where the home page's time goes: cProfile over in-process requests by many readers."""

from __future__ import annotations

import cProfile
import pstats
import site
import sysconfig
from pathlib import Path
from typing import Any

from flask import Flask

from bench import inprocess

REQUESTS = 200
TOP = 15
ROOT = str(Path(__file__).resolve().parent.parent) + "/"
# Longest prefix first: the venv's site-packages lives inside the repo.
PREFIXES = sorted(
    {ROOT, *(p + "/" for p in [*site.getsitepackages(), sysconfig.get_paths()["stdlib"]])},
    key=len,
    reverse=True,
)
# The test client and our loop around the app: every request's outer frames, not the app's.
HARNESS = ("bench/", "werkzeug/test.py", "flask/testing.py")


def profile_page(app: Flask, cookies: list[str], path: str = "/") -> dict[str, Any]:
    """Profile REQUESTS requests for path, each reader in turn; return the top entries.

    The first request of each client warms caches (templates, statements) outside the profile.
    """
    clients = [inprocess.client_for(app, cookie) for cookie in cookies]
    for client in clients:
        response = inprocess.get(client, path)
        assert response.status_code == 200, f"{path}: HTTP {response.status_code}"
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(REQUESTS):
        inprocess.get(clients[n % len(clients)], path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    rows: list[dict[str, Any]] = [
        {
            "function": shorten(file, line, func),
            "calls": round(calls / REQUESTS, 1),
            "tottime_ms": tottime * 1e3 / REQUESTS,
            "cumtime_ms": cumtime * 1e3 / REQUESTS,
        }
        for (file, line, func), (_prim, calls, tottime, cumtime, _callers) in raw.items()
    ]
    rows = [r for r in rows if not r["function"].startswith(HARNESS)]
    return {
        "path": path,
        "requests": REQUESTS,
        "readers": len(cookies),
        "ms_per_request": round(total * 1e3 / REQUESTS, 3),
        "by_cumulative": _top(rows, "cumtime_ms"),
        "by_tottime": _top(rows, "tottime_ms"),
    }


def shorten(file: str, line: int, func: str) -> str:
    """`flask/app.py:123(dispatch)`: paths relative to the repo, site-packages or the stdlib."""
    if file.startswith("~") or file == "<string>":
        return func  # a built-in: {method 'execute' of 'sqlite3.Cursor' objects}
    for prefix in PREFIXES:
        if file.startswith(prefix):
            file = file[len(prefix) :]
            break
    return f"{file}:{line}({func})"


def _top(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    top = sorted(rows, key=lambda r: r[key], reverse=True)[:TOP]
    return [
        {**r, "tottime_ms": round(r["tottime_ms"], 3), "cumtime_ms": round(r["cumtime_ms"], 3)}
        for r in top
    ]


def lines(profile: dict[str, Any] | None) -> list[str]:
    """The profile as Markdown: two tables, by cumulative and by own time."""
    if not profile:
        return ["Not measured."]
    out = [
        f"cProfile over {profile['requests']} in-process requests for `{profile['path']}` by "
        f"{profile['readers']} signed-in readers in turn (Flask test client, the same database): "
        f"{profile['ms_per_request']:.2f} ms a request under the profiler, which inflates "
        "calls that are many and small. ms and calls are per request; the test client's "
        "frames (werkzeug/test.py, flask/testing.py) are left out.",
    ]
    for key, title in (("by_cumulative", "cumulative"), ("by_tottime", "own time (tottime)")):
        out += ["", f"Top {TOP} by {title}:", "", "| cum ms | own ms | calls | function |"]
        out.append("|--:|--:|--:|---|")
        for r in profile[key]:
            name = r["function"].replace("|", "\\|")
            out.append(
                f"| {r['cumtime_ms']:.3f} | {r['tottime_ms']:.3f} | {r['calls']} | `{name}` |"
            )
    return out
