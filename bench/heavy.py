"""Heavy readers: the home timeline of someone who follows 2,000 people, beside everyone else's.

Seeds 10,000 users and N posts (default 1M) and times each kind of reader's timeline query in
process (median of N runs, the current strategy beside the earlier one, same run), then, unless
--no-load, their home page's req/s under gunicorn + wrk in round robin, as bench/run.py does.
Entry point for `make bench`: `run(args, database) -> dict`; alone:
`.venv/bin/python -m bench.heavy --posts 100k --database sqlite`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask

from bench import cpu, inprocess, loadgen
from bench.databases import Database
from bench.heavy_seed import USERS, Heavy, seed, seeded
from bench.options import add_database_options
from bench.run import SECRET_KEY, make_app, parse_size
from bench.server import Gunicorn
from microblog.extensions import db
from microblog.social import paging
from microblog.social.models import Post
from microblog.social.paging import Window, load_page
from microblog.social.queries import binds, posts_query, timeline_authors

FIRST_PORT = 18_200  # this benchmark's ports: 18200-18299


def legacy_by_authors(
    authors: paging.Authors, window: Window, dialect: str
) -> sa.ColumnElement[bool]:
    """The strategy before issue 13: IN on SQLite, a LATERAL page per author on PostgreSQL."""
    if dialect != "postgresql":
        return Post.user_id.in_(authors.ids)
    author = authors.ids.subquery("author")
    per_author = sa.select(Post.id, Post.created_at).where(Post.user_id == author.c.id)
    top = window.apply(per_author.correlate(author)).lateral("top")
    merged = sa.select(top.c.id).select_from(author).join(top, sa.true())
    return Post.id.in_(window.apply(merged, top.c.created_at, top.c.id))


def time_queries(app: Flask, heavy: Heavy, repeat: int) -> dict[str, dict]:
    """Time each reader's first and second timeline page, both strategies, in process."""
    results: dict[str, dict] = {}
    current = paging.by_authors
    with app.app_context():
        for kind, reader in heavy.readers.items():
            first = Window(None, None, app.config["POSTS_PER_PAGE"])
            page = load_page(posts_query(True), first, binds(reader), authors=timeline_authors())
            older = Window.from_cursors(page.older, None, first.size) if page.older else None
            row: dict[str, Any] = {"posts on page 1": len(page.items)}
            for name, strategy in (("before", legacy_by_authors), ("after", current)):
                paging.by_authors = strategy  # type: ignore[assignment]
                paging.windowed.cache_clear()  # statements are built once: build them again
                try:
                    page_1 = partial(_load, reader, first)
                    row[f"{name} sql ms"] = _statement_ms(app, page_1, repeat)
                    row[f"{name} ms"] = _median_ms(page_1, repeat)
                    if older is not None:
                        row[f"{name} older ms"] = _median_ms(partial(_load, reader, older), repeat)
                    row[f"{name} ids"] = [p.id for p in _load(reader, first).items]
                finally:
                    paging.by_authors = current
                    paging.windowed.cache_clear()
            row["same"] = row.pop("before ids") == row.pop("after ids")
            results[kind] = row
            print(f"   {kind:20} {_show(row)}", flush=True)
        db.session.remove()
    return results


def _load(reader: int, window: Window) -> paging.Page[Post]:
    page = load_page(posts_query(True), window, binds(reader), authors=timeline_authors())
    db.session.expunge_all()
    return page


def _statement_ms(app: Flask, call: Callable[[], object], repeat: int) -> float:
    """The database's own time for the page's posts statement: CPU time in process on SQLite,
    EXPLAIN ANALYZE's execution time on PostgreSQL (wall clock is noise on a shared machine)."""
    with inprocess.recording(app) as statements:
        call()
    statement = inprocess.posts_statement(statements)
    assert statement is not None
    times = []
    with db.engine.connect() as conn:
        for _ in range(repeat + 1):
            if conn.dialect.name == "sqlite":
                started = time.process_time()
                conn.exec_driver_sql(statement.sql, statement.params).all()
                times.append((time.process_time() - started) * 1000)
            else:
                options = "ANALYZE, TIMING false, FORMAT JSON"
                sql = f"EXPLAIN ({options}) {statement.sql}"
                plan = conn.exec_driver_sql(sql, statement.params).scalar()
                times.append(plan[0]["Execution Time"])
    return round(statistics.median(times[1:]), 3)


def _median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm: statement caches, pages of the database file
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


def _show(row: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in row.items())


def load_readers(
    args: argparse.Namespace,
    url: str,
    work: Path,
    heavy: Heavy,
    app: Flask,
    backends: cpu.Backends | None = None,
) -> tuple[dict[str, float], dict[str, float]]:
    """Serve the app with gunicorn and load each reader's home page with wrk, round robin.

    Return each reader's req/s and CPU ms per request (the workers', and PostgreSQL's
    backends'), medians of the rounds: CPU per request moves far less with the machine's load.
    """
    wrk = loadgen.find_wrk(install=False)
    if wrk is None:
        print("   no wrk: req/s not measured", flush=True)
        return {}, {}
    cookies = {kind: inprocess.mint_cookie(app, reader) for kind, reader in heavy.readers.items()}
    env = {
        "SECRET_KEY": SECRET_KEY,
        "MICROBLOG_ENV": "production",
        "MICROBLOG_PROVIDERS": str(work / "providers.toml"),
        "DATABASE_URL": url,
    }
    rounds: dict[str, list[float]] = {kind: [] for kind in cookies}
    cpu_ms: dict[str, list[float]] = {kind: [] for kind in cookies}
    with Gunicorn("microblog:create_app()", env, work, "heavy", port=args.port) as server:
        server.wait_ready("/explore")
        meter = cpu.Meter(server.worker_pids, backends)
        headers = {
            kind: {"Cookie": f"session={cookie}", "User-Agent": inprocess.USER_AGENT}
            for kind, cookie in cookies.items()
        }
        for kind in cookies:
            loadgen.run_wrk(wrk, server.url + "/", headers[kind], 1, args.connections)
        for r in range(args.rounds):
            for kind in cookies:
                started = meter.start()
                result = loadgen.run_wrk(
                    wrk, server.url + "/", headers[kind], args.duration, args.connections
                )
                used = meter.stop(started)
                rounds[kind].append(result.rps)
                seconds = used["worker_cpu_s"] or 0.0
                seconds += used["db_cpu_s"] or 0.0
                cpu_ms[kind].append(seconds * 1000 / max(result.requests, 1))
            print(
                f"   round {r + 1}: "
                + ", ".join(f"{k} {v[-1]:.0f}/s {cpu_ms[k][-1]:.2f} ms" for k, v in rounds.items())
            )
    rps = {kind: round(statistics.median(v), 1) for kind, v in rounds.items()}
    return rps, {kind: round(statistics.median(v), 3) for kind, v in cpu_ms.items()}


def run(args: argparse.Namespace, database: Database) -> dict:
    """Seed each size in args.sizes and measure every reader; return the figures by size."""
    results: dict[str, Any] = {"database": database.kind, "sizes": {}}
    work = database.work
    (work / "providers.toml").write_text("# no providers: pages only\n")
    for posts in args.sizes:
        label = f"{posts:,}"
        print(f"== heavy readers: {label} posts, {USERS:,} users ({database.kind})", flush=True)
        url = args.url or database.create(f"heavy{posts}")
        if args.url and database.kind == "postgresql" and "application_name" not in url:
            # So that the CPU meter finds the backends serving gunicorn, as on a fresh schema.
            url += f"{'&' if '?' in url else '?'}application_name={database.application_name}"
        try:
            app = make_app(url, work)
            heavy = seeded(app, posts) if args.url else seed(app, posts)
            print(f"   seeded in {heavy.seconds:.1f} s", flush=True)
            size: dict[str, Any] = {"queries": time_queries(app, heavy, args.repeat)}
            if not args.no_load:
                rps, cpu_ms = load_readers(args, url, work, heavy, app, database.backends())
                base = rps.get("follows 50")
                size["home req/s"] = rps
                size["home cpu ms"] = cpu_ms
                if base:
                    size["ratio to follows 50"] = {k: round(v / base, 2) for k, v in rps.items()}
                    print(f"   ratio to follows 50: {size['ratio to follows 50']}", flush=True)
                if cpu_ms.get("follows 50"):
                    by_cpu = {k: round(cpu_ms["follows 50"] / v, 2) for k, v in cpu_ms.items() if v}
                    size["ratio to follows 50 by cpu"] = by_cpu
                    print(f"   ratio to follows 50 by CPU per request: {by_cpu}", flush=True)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        finally:
            database.drop(f"heavy{posts}")
        results["sizes"][label] = size
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.heavy", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--posts", default="1m", help="sizes, e.g. 100k,1m (default 1m)")
    add_database_options(parser)
    parser.add_argument("--repeat", type=int, default=50, help="runs per query (median)")
    parser.add_argument("--no-load", action="store_true", help="query times only, no gunicorn")
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--port", type=int, default=FIRST_PORT)
    parser.add_argument("--url", help="a database this module seeded before: measure, no seeding")
    args = parser.parse_args(argv)
    args.sizes = [parse_size(s) for s in args.posts.split(",") if s.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="microblog-heavy-") as tmp:
        database = Database(args.database, Path(tmp), args.postgres_url)
        try:
            run(args, database)
        finally:
            database.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
