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
from urllib.parse import urlencode

from flask import Flask

from bench import inprocess, loadgen, report, signin
from bench.databases import Database
from bench.seed import TAGS, seed
from bench.server import Gunicorn, free_port, verify_page
from microblog import create_app
from microblog.api.tokens import create_token
from microblog.extensions import db

SECRET_KEY = "microblog-bench-secret"  # fixed: the cookie minted here must be valid in gunicorn
EXPLORE_DEPTH = 50
VISITOR_PAGES = frozenset({"front"})  # measured signed out; every other page signed in
API_PAGES = frozenset({"api timeline"})  # signed in with a bearer token, not the cookie
# A benchmark of sign-in throughput from one address, not of the limiter (which still runs).
NO_SIGNIN_LIMITS = {
    "MICROBLOG_SIGNIN_RATE_LIMIT": "1000000 per minute",
    "MICROBLOG_CALLBACK_RATE_LIMIT": "1000000 per minute",
}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
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


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--posts", default="10k,100k", help="sizes to seed: 10k,100k,1m (default 10k,100k)"
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "MICROBLOG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per page; the median counts")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--signin-threads", type=int, default=4)
    parser.add_argument("--no-signin", action="store_true", help="skip the sign-in benchmark")
    parser.add_argument(
        "--python-loadgen", action="store_true", help="use bench/loadgen.py, not wrk"
    )
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument("--results", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    args.sizes = [parse_size(s) for s in args.posts.split(",") if s.strip()]
    return args


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


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
        },
        "sizes": {},
    }
    load = Loader(wrk, args.duration, args.connections)
    env = {
        "SECRET_KEY": SECRET_KEY,
        "MICROBLOG_ENV": "production",
        "MICROBLOG_PROVIDERS": str(work / "providers.toml"),
        # One token makes every API request here: its limit must not be what is measured.
        "MICROBLOG_API_RATE_LIMIT": "1000000000 per minute",
    }
    with Gunicorn("bench.hello:create_app()", env, work, "hello") as hello:
        hello.wait_ready("/")
        results["settings"]["command"] = hello.command
        for i, posts in enumerate(args.sizes):
            label = report.size_label(posts)
            print(f"== {label} posts ({database.kind})", flush=True)
            url = database.create(label)
            try:
                size = bench_size(args, posts, url, work, env, load, hello)
                if i == 0 and not args.no_signin:
                    results["signin"] = bench_signin(args, url, work, env)
            finally:
                database.drop(label)
            results["sizes"][label] = size
    results["hello"] = report.summarise(
        [r for s in results["sizes"].values() for r in s["hello_rounds"]]
    )
    return results


class Loader:
    """One load generator with fixed settings."""

    def __init__(self, wrk: str | None, duration: float, connections: int) -> None:
        self.wrk, self.duration, self.connections = wrk, duration, connections

    def __call__(self, url: str, headers: dict[str, str], duration: float | None = None) -> dict:
        seconds = duration or self.duration
        if self.wrk:
            result = loadgen.run_wrk(self.wrk, url, headers, seconds, self.connections)
        else:
            result = loadgen.run_python(url, headers, seconds, self.connections)
        return result.as_dict()


def make_app(url: str, work: Path, posts_per_page: int | None = None) -> Flask:
    config: dict[str, Any] = {
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": url,
        "MICROBLOG_PROVIDERS": str(work / "providers.toml"),
        "MICROBLOG_ENV": "production",
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
) -> dict:
    """Seed one size, check its pages in-process, then load them and bare Flask in turn."""
    app = make_app(url, work)
    seeded = seed(app, posts)
    print(f"   seeded {posts:,} posts in {seeded.seconds:.1f} s", flush=True)
    cookie = inprocess.mint_cookie(app, seeded.reader_id)
    pages = {
        "home": "/",
        "explore": "/explore",
        "profile": f"/u/{seeded.profile_nickname}",
        f"explore page {EXPLORE_DEPTH}": inprocess.follow_older(
            app, cookie, "/explore", EXPLORE_DEPTH - 1
        ),
        "thread": f"/p/{seeded.thread_post_id}",
        "notifications": "/notifications",
        "front": "/",  # to a visitor: VISITOR_PAGES
        **search_pages(seeded.profile_nickname),
        "api timeline": "/api/v1/timeline",  # the reader's, with a token: API_PAGES
    }
    with app.app_context():
        _, secret = create_token(seeded.reader_id, "bench", "read")
    token = {"Authorization": f"Bearer {secret}"}
    checks = inprocess.check_pages(
        lambda per_page: make_app(url, work, per_page),
        cookie,
        pages,
        VISITOR_PAGES,
        headers={name: token for name in API_PAGES},
    )
    dispose(app)

    signed_in = {"Cookie": f"session={cookie}", "User-Agent": inprocess.USER_AGENT}
    visitor = {"User-Agent": inprocess.USER_AGENT}
    headers = {name: visitor if name in VISITOR_PAGES else signed_in for name in pages}
    for name in API_PAGES:
        headers[name] = {**visitor, **token}
    headers["hello"] = signed_in
    server_env = {**env, "DATABASE_URL": url}
    with Gunicorn("microblog:create_app()", server_env, work, f"microblog-{posts}") as server:
        server.wait_ready("/explore")
        for name, path in pages.items():
            verify_page(server.url + path, headers[name], name, name not in VISITOR_PAGES)
        targets = {"hello": hello.url + "/", **{n: server.url + p for n, p in pages.items()}}
        for name, target in targets.items():  # warm up: templates, statement caches, page cache
            load(target, headers[name], duration=1)
        rounds: dict[str, list[dict]] = {name: [] for name in targets}
        for r in range(args.rounds):
            for name, target in targets.items():  # round robin: drift hits every page alike
                rounds[name].append(load(target, headers[name]))
            print(
                f"   round {r + 1}: "
                + ", ".join(f"{n} {rs[-1]['rps']:.0f}/s" for n, rs in rounds.items()),
                flush=True,
            )
        rss = server.worker_rss_mb()
    return {
        "posts": posts,
        "seed_s": round(seeded.seconds, 1),
        "hello_rounds": rounds.pop("hello"),
        "pages": {
            name: {"path": pages[name], **report.summarise(rs), **checks[name]}
            for name, rs in rounds.items()
        },
        "worker_rss_mb": rss,
    }


def search_pages(nickname: str) -> dict[str, str]:
    """A tag page and searches: a common word, a phrase, and one person's posts with a word."""
    return {
        "tag page": f"/tags/{TAGS[0]}",
        "search word": "/search?" + urlencode({"q": "coffee"}),
        "search phrase": "/search?" + urlencode({"q": '"the river"'}),
        "search from:": "/search?" + urlencode({"q": f"from:{nickname} music"}),
    }


def bench_signin(args: argparse.Namespace, url: str, work: Path, env: dict[str, str]) -> dict:
    """Sign in through the built-in dev provider, served by a gunicorn of its own."""
    # The app calls its own provider (token, userinfo) while it serves a callback: a worker
    # whose threads all wait on callbacks cannot answer those calls (they time out). Each
    # browser holds at most two threads at once, so two threads per browser never run out.
    threads = 2 * args.signin_threads
    print(
        f"   sign-in: built-in dev provider, 2 workers x {threads} threads, --preload", flush=True
    )
    (work / "providers-dev.toml").write_text('[providers.dev]\npreset = "dev"\n')
    port = free_port()  # the issuer names the port, so choose it first
    server_env = {
        **env,
        **NO_SIGNIN_LIMITS,
        "DATABASE_URL": url,
        "MICROBLOG_ENV": "development",
        "MICROBLOG_PROVIDERS": str(work / "providers-dev.toml"),
        "DEV_IDP_ISSUER": f"http://127.0.0.1:{port}/dev-idp",
    }
    # --preload: the dev provider makes its signing key at start-up; one key for both workers.
    server = Gunicorn(
        "microblog:create_app()",
        server_env,
        work,
        "signin",
        threads=threads,
        preload=True,
        access_log=True,
        port=port,
    )
    with server:
        server.wait_ready("/login")
        result = signin.run(
            server.url, server.access_log, server.error_log, args.signin_threads, args.duration
        )
        result["worker_rss_mb"] = server.worker_rss_mb()
        result["command"] = server.command
    print(
        f"   sign-in: {result['signins_per_s']}/s, provider requests per sign-in from the app: "
        f"{result['per_signin']['app']}",
        flush=True,
    )
    return result


def wrk_version(wrk: str) -> str:
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    return (out.stdout + out.stderr).splitlines()[0].split(" Copyright")[0]


def dispose(app: Flask) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
