"""Instructions a page costs, counted by callgrind: the measure for a change of a few percent.

    .venv/bin/python -m bench.instructions                      # home, SQLite, 100k posts
    .venv/bin/python -m bench.instructions home thread --database postgresql --posts 10k

req/s and CPU time move by tens of percent with the machine's load; user-space instructions
do not (bench/README.md, "A change of a few percent"). The database is seeded once into
--work (a SQLite file, or a PostgreSQL schema kept there by name) and reused by later runs;
then the pages are served in process under `valgrind --tool=callgrind --separate-threads=yes`
with PYTHONHASHSEED=0: each page is warmed (every reader twice), its counters zeroed, served
--requests times (the readers in turn) and dumped, and the main thread's total over the
requests is printed. Runs side by side agree to about 0.01 %; an hour apart, to about 2 % (the
pages' how-long-ago and the sessions' activity stamps move with the clock).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import hello, inprocess, pages
from bench.databases import Database
from bench.options import add_database_options, parse_size, size_label
from bench.run import make_app
from bench.seed import Seeded, seed

DEFAULT_WORK = Path("/tmp/microblog-instructions")
CHILD = "MICROBLOG_INSTRUCTIONS_CHILD"  # set in the process that valgrind runs
# What a page is compared with: bare Flask, and this app's cheapest page (its middleware,
# session and hooks, and a rate-limit check the measured pages skip), both as a signed-in reader.
REFERENCES = {"hello": "/", "healthz": "/healthz"}
TOTALS = re.compile(rb"^(?:totals|summary): (\d+)", re.MULTILINE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "pages",
        nargs="*",
        default=["home"],
        help="page names, as in the report; also hello (bare Flask) and healthz (our cheapest)",
    )
    parser.add_argument("--posts", type=parse_size, default=parse_size("100k"))
    add_database_options(parser)
    parser.add_argument("--requests", type=int, default=20, help="measured requests a page")
    parser.add_argument("--readers", type=int, default=20, help="readers the requests cycle over")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="where the data is kept")
    parser.add_argument("--reseed", action="store_true", help="seed afresh even if seeded")
    parser.add_argument(
        "--forget", action="store_true", help="drop the kept data of this size and database"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the dumps, for callgrind_annotate or kcachegrind"
    )
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "providers.toml").write_text("# no providers: pages only\n")
    if os.environ.get(CHILD):
        return _measure(args)
    if args.forget:
        _forget(args)
        return 0
    state = _seeded(args)
    names = args.pages
    unknown = set(names) - set(state["paths"]) - set(REFERENCES)
    if unknown:
        parser.error(f"unknown page {sorted(unknown)}; pages: {', '.join(state['paths'])}")
    out = args.work / f"callgrind.{os.getpid()}"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--separate-threads=yes",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "bench.instructions",
        *(sys.argv[1:] if argv is None else argv),
    ]
    env = {**os.environ, CHILD: str(out), "PYTHONHASHSEED": "0"}
    result = subprocess.run(command, env=env, stderr=subprocess.DEVNULL, check=False)
    for dump in args.work.glob(f"{out.name}*"):
        if args.keep and dump.name.endswith("-01"):
            print(f"kept {dump}")
        else:
            dump.unlink()
    return result.returncode


def _seeded(args: argparse.Namespace) -> dict[str, Any]:
    """The database for this size and kind, seeded once; its URL, readers' cookies and paths."""
    label = size_label(args.posts)
    record = args.work / f"{args.database}-{label}.json"
    if record.exists() and not args.reseed:
        state: dict[str, Any] = json.loads(record.read_text())
        return state
    database = Database(args.database, args.work, args.postgres_url)
    url = database.create(label)
    print(f"seeding {label} posts ({args.database}) into {args.work}", flush=True)
    app = make_app(url, args.work)
    seeded = seed(app, args.posts)
    readers = pages.mint_readers(app, seeded.reader_ids[: args.readers])
    state = {
        "url": url,
        "seeded": asdict(seeded),
        "cookies": readers.cookies,
        "tokens": readers.tokens,
        "paths": pages.paths(app, seeded, readers.cookies[0]),
    }
    record.write_text(json.dumps(state))
    return state


def _forget(args: argparse.Namespace) -> None:
    """Drop this size's kept database (its file, or its PostgreSQL schema) and its record."""
    record = args.work / f"{args.database}-{size_label(args.posts)}.json"
    if not record.exists():
        return
    database = Database(args.database, args.work, args.postgres_url)
    database.drop_url(json.loads(record.read_text())["url"])
    record.unlink()


def _measure(args: argparse.Namespace) -> int:
    """Under callgrind: warm, zero, serve, dump, for each page; print instructions a request."""
    out = Path(os.environ[CHILD])
    label = size_label(args.posts)
    state = json.loads((args.work / f"{args.database}-{label}.json").read_text())
    seeded = Seeded(**{**state["seeded"], "reader_ids": tuple(state["seeded"]["reader_ids"])})
    app = make_app(state["url"], args.work)
    paths = {**state["paths"], **REFERENCES}
    readers = pages.Readers(state["cookies"], state["tokens"])
    count = min(args.readers, len(readers.cookies))
    for dump, name in enumerate(args.pages, start=1):
        path = paths[name]
        served = hello.create_app() if name == "hello" else app
        clients: list[tuple[Any, dict[str, str]]] = []
        for n in range(count):
            if name in pages.VISITOR_PAGES:
                clients.append((inprocess.client_for(served, None), {}))
            elif name in pages.API_PAGES:
                clients.append((inprocess.client_for(served, None), readers.api(n)))
            else:
                clients.append((inprocess.client_for(served, readers.cookies[n]), {}))
        for _ in range(2):
            for client, headers in clients:
                response = inprocess.get(client, path, headers)
                assert response.status_code == 200, f"{name}: HTTP {response.status_code}"
        _control("-z")
        for n in range(args.requests):
            client, headers = clients[n % count]
            inprocess.get(client, path, headers)
        _control("-d")
        total = _main_thread_total(out, dump)
        print(
            f"{name:>16}  {total / args.requests:>12,.0f} instructions a request"
            f"  ({args.requests} requests, {seeded.posts:,} posts, {args.database})",
            flush=True,
        )
    return 0


def _control(flag: str) -> None:
    """Ask callgrind to zero (-z) or dump (-d) this process's counters, and wait till done.

    callgrind reads the command between blocks of code it runs, so the wait is a loop of short
    sleeps (a handful of instructions each), not one call that would block it out."""
    control = subprocess.Popen(
        ["callgrind_control", flag, str(os.getpid())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while control.poll() is None:
        time.sleep(0.01)


def _main_thread_total(out: Path, dump: int) -> int:
    """The main thread's instructions in dump number `dump` (callgrind names it .N-01)."""
    path = out.with_name(f"{out.name}.{dump}-01")
    for _ in range(100):  # callgrind_control returns once asked; the file may still be written
        match = TOTALS.search(path.read_bytes()) if path.exists() else None
        if match:
            return int(match.group(1))
        time.sleep(0.1)
    raise SystemExit(f"no callgrind dump {out}.{dump}-01")


if __name__ == "__main__":
    sys.exit(main())
