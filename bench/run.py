"""The benchmark driver: seed, serve with gunicorn, load with wrk, count SQL, sign in, report.

Run it with `make bench`, or `.venv/bin/python -m bench.run --posts 10k,100k,1m` (see --help).
Not a test: it asserts nothing about time; it prints which targets hold and which do not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from bench import heavy_hook, inprocess, loadgen, pages, profiling, report, signin
from bench.cpu import Meter
from bench.databases import Database
from bench.options import HOME_ONLY_FROM, parse_args, size_label
from bench.options import parse_size as parse_size  # bench/heavy.py imports it from here
from bench.rounds import Loader, Target, round_robin
from bench.seed import READERS, seed
from bench.seed_large import seed_home_only
from bench.server import Gunicorn, verify_page
from microblog import create_app
from microblog.extensions import db

SECRET_KEY = "microblog-bench-secret"  # fixed: the cookies minted here must be valid in gunicorn


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, __doc__.splitlines()[0])
    wrk = None if args.python_loadgen else loadgen.find_wrk(install=not args.no_install)
    if wrk is None:
        print(
            "WARNING: wrk is not available: using the Python load generator (bench/loadgen.py),"
            " which saturates sooner; ratios to bare Flask will read low.",
            flush=True,
        )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="microblog-bench-") as tmp:
        work = Path(tmp)
        (work / "providers.toml").write_text("# no providers: pages only\n")
        database = Database(args.database, work, args.postgres_url)
        try:
            results = bench(args, wrk, work, database)
        finally:
            database.cleanup()
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    markdown = report.write(results, Path(args.results))
    print(markdown, flush=True)
    return 0


def bench(args: argparse.Namespace, wrk: str | None, work: Path, database: Database) -> dict:
    """Measure bare Flask and every size; bare Flask rounds interleave with each size's pages."""
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": database.kind,
        "load_generator": wrk_version(wrk) if wrk else "python (bench/loadgen.py)",
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "settings": {
            "duration_s": args.duration,
            "rounds": args.rounds,
            "connections": args.connections,
            "wrk_threads": 2,
            "gunicorn": "2 sync workers on 127.0.0.1",
            "readers": READERS,
            "explore_pages": pages.EXPLORE_PAGES,
        },
        "sizes": {},
    }
    load = Loader(wrk, args.duration, args.connections, work)
    env = {
        "SECRET_KEY": SECRET_KEY,
        "MICROBLOG_ENV": "production",
        "MICROBLOG_PROVIDERS": str(work / "providers.toml"),
        # A token makes many API requests here: its limit must not be what is measured.
        "MICROBLOG_API_RATE_LIMIT": "1000000000 per minute",
    }
    with Gunicorn("bench.hello:create_app()", env, work, "hello") as hello:
        hello.wait_ready("/")
        results["settings"]["command"] = hello.command
        for i, posts in enumerate(args.sizes):
            label = size_label(posts)
            print(f"== {label} posts ({database.kind})", flush=True)
            url = database.create(label)
            try:
                size = bench_size(args, posts, url, work, env, load, hello, database)
                if i == 0 and not args.no_signin:
                    results["signin"] = signin.measure(args, url, work, env)
            finally:
                database.drop(label)
            results["sizes"][label] = size
    results["hello"] = report.summarise(
        [r for s in results["sizes"].values() for r in s["hello_rounds"]]
    )
    if not args.no_heavy:
        results["heavy"] = heavy_hook.run(args, database)
    return results


def make_app(url: str, work: Path, posts_per_page: int | None = None) -> Flask:
    config: dict[str, Any] = {
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": url,
        "MICROBLOG_PROVIDERS": str(work / "providers.toml"),
        "MICROBLOG_ENV": "production",
        # The bench's own connections seed (COPY, index builds, VACUUM) and EXPLAIN: statements
        # far longer than a page's 10 s limit. gunicorn serves with the app's own setting.
        "DATABASE_STATEMENT_TIMEOUT": 3600.0,
        # And on a server it keeps busy for minutes: the connect timeout also sets how long TCP
        # waits for an answer (keepalives, tcp_user_timeout), 5 s by default. A 10M-post seed's
        # follows, after 20 minutes of COPY and index builds, lost their connection to it.
        "DATABASE_CONNECT_TIMEOUT": 60.0,
    }
    if posts_per_page:
        config["POSTS_PER_PAGE"] = posts_per_page
    return create_app(config)


def bench_size(
    args: argparse.Namespace,
    posts: int,
    url: str,
    work: Path,
    env: dict[str, str],
    load: Loader,
    hello: Gunicorn,
    database: Database,
) -> dict:
    """Seed one size, check its pages in-process, then load them and bare Flask in turn."""
    home_only = posts >= HOME_ONLY_FROM
    app = make_app(url, work)
    seeded = (seed_home_only if home_only else seed)(app, posts)
    print(f"   seeded {posts:,} posts in {seeded.seconds:.1f} s", flush=True)
    readers = pages.mint_readers(app, seeded.reader_ids)
    cookie = readers.cookies[0]
    measure_home_only = home_only or args.home_only_run
    paths = pages.paths(app, seeded, cookie, measure_home_only)
    explore = [] if measure_home_only else pages.explore_paths(app, cookie)
    checks = inprocess.check_pages(
        lambda per_page: make_app(url, work, per_page),
        cookie,
        paths,
        pages.VISITOR_PAGES,
        headers={name: readers.api(0) for name in pages.API_PAGES},
    )
    profile = None
    if size_label(posts) == args.profile_label:
        print(f"   profiling the home page ({profiling.REQUESTS} requests)", flush=True)
        profile = profiling.profile_page(app, readers.cookies)
    dispose(app)

    requests = pages.rotations(paths, readers, explore)
    backends = database.backends()
    server_env = {**env, "DATABASE_URL": url}
    try:
        with Gunicorn("microblog:create_app()", server_env, work, f"microblog-{posts}") as server:
            server.wait_ready("/")
            verify(requests, hello.url, server.url)
            page_meter = Meter(server.worker_pids, backends)
            targets = {
                name: Target(hello.url, rotation, Meter(hello.worker_pids, None))
                if name == "hello"
                else Target(server.url, rotation, page_meter)
                for name, rotation in requests.items()
            }
            rounds = round_robin(load, targets, args.rounds, lambda s: print(s, flush=True))
            rss = server.worker_rss_mb()
    finally:
        if backends:
            backends.close()
    return {
        "posts": posts,
        "home_only": home_only,
        "seed_s": round(seeded.seconds, 1),
        "hello_rounds": rounds.pop("hello"),
        "pages": {
            name: {
                "path": paths[name],
                "rotation": len(requests[name]),
                **report.summarise(rs),
                **checks[name],
            }
            for name, rs in rounds.items()
        },
        "worker_rss_mb": rss,
        "profile": profile,
    }


def verify(requests: dict[str, list[loadgen.Request]], hello: str, server: str) -> None:
    """Refuse to measure a page that does not answer 200 to its readers, signed in.

    Every reader's cookie on the home page; the first and last request of each other page.
    """
    for name, rotation in requests.items():
        base = hello if name == "hello" else server
        chosen = rotation if name == "home" else [rotation[0], rotation[-1]]
        signed_in = name not in pages.VISITOR_PAGES and name != "hello"
        for path, headers in chosen:
            verify_page(base + path, headers, name, signed_in)


def wrk_version(wrk: str) -> str:
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    return (out.stdout + out.stderr).splitlines()[0].split(" Copyright")[0]


def dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
