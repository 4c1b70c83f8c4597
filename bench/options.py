"""The benchmark's command line: every option, with the sizes parsed."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

HOME_ONLY_FROM = 5_000_000  # posts: from here on only the home timeline is seeded and measured


def add_database_options(parser: argparse.ArgumentParser) -> None:
    """--database and --postgres-url, as every benchmark command takes them."""
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "MICROBLOG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="server for --database postgresql; each size gets a schema of its own",
    )


def parse_args(argv: list[str] | None, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=description)
    parser.add_argument(
        "--posts",
        default="10k,100k",
        help="sizes to seed, e.g. 10k,100k,1m (default 10k,100k); from 5m on (10m on "
        "PostgreSQL), only the home timeline is seeded and measured",
    )
    add_database_options(parser)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per page; the median counts")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--signin-threads", type=int, default=4, help="browsers signing in at once")
    parser.add_argument("--no-signin", action="store_true", help="skip the sign-in benchmark")
    parser.add_argument(
        "--python-loadgen", action="store_true", help="use bench/loadgen.py, not wrk"
    )
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk")
    parser.add_argument(
        "--profile-size",
        default="100k",
        help="profile the home page at this size (default 100k, else the largest); 'none' skips",
    )
    parser.add_argument(
        "--no-heavy", action="store_true", help="skip the heavy readers (bench/heavy.py)"
    )
    parser.add_argument(
        "--heavy-posts", default="1m", help="posts in the heavy readers' site (default 1m)"
    )
    parser.add_argument("--results", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    args.sizes = [parse_size(s) for s in args.posts.split(",") if s.strip()]
    args.heavy_posts = parse_size(args.heavy_posts)
    # A run with a home-only size measures only the home page at every size: its smaller sizes
    # are the same run's reference for it, and the load takes a minute, not a quarter hour.
    args.home_only_run = any(n >= HOME_ONLY_FROM for n in args.sizes)
    labels = [size_label(n) for n in args.sizes if n < HOME_ONLY_FROM]
    if args.profile_size.lower() == "none" or not labels:
        args.profile_label = None
    else:
        wanted = size_label(parse_size(args.profile_size))
        args.profile_label = wanted if wanted in labels else labels[-1]
    return args


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def size_label(posts: int) -> str:
    for scale, suffix in ((1_000_000, "M"), (1_000, "k")):
        if posts >= scale:
            return f"{posts / scale:g}{suffix}"
    return str(posts)
