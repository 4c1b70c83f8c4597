"""Seed a site for the home timeline alone at sizes like 10M posts: fast, flat in memory.

Users and follows as bench/seed.py makes them; posts streamed (PostgreSQL's COPY, with the
post table's secondary indexes dropped during the load and built again after it, which is
several times faster than maintaining them row by row), with a progress bar on stderr. No
replies, likes, mentions, tags or notifications: only the home page is measured at this size.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from bench.databases import vacuum_own_tables
from bench.seed import READERS, YEAR, Seeded, _batches, _body, _follows, _users
from microblog.extensions import db
from microblog.models import User
from microblog.social.models import Follow, Post

PROGRESS_EVERY = 100_000


def seed_home_only(
    app: Flask, posts: int, users: int = 1000, follows: int = 50, rng_seed: int = 42
) -> Seeded:
    """Build the schema with the app's migrations, then stream users, follows and posts."""
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        db.session.execute(sa.insert(User), list(_users(rng, users, now)))
        ids = list(db.session.scalars(sa.select(User.id).order_by(User.id)))
        db.session.commit()  # the posts' COPY runs on a connection of its own: it must see them
        followed_by_reader: list[int] = []
        follow_rows = list(_follows(rng, ids, follows, now, followed_by_reader))
        rows = _progress(_posts(rng, ids, posts, now), posts)
        if db.engine.dialect.name == "postgresql":
            _copy_posts(rows)
        else:
            for batch in _batches(rows):
                db.session.execute(sa.insert(Post), batch)
            db.session.commit()
        # After the posts, as bench/seed.py does: each follow takes its person's newest once.
        # On a fresh connection: the pool's last one sat idle through the whole COPY.
        db.session.remove()
        db.engine.dispose()
        for batch in _batches(follow_rows):
            db.session.execute(sa.insert(Follow), batch)
        db.session.commit()
        profile = db.session.get(User, followed_by_reader[0])
        assert profile is not None
        nickname = profile.nickname
        db.session.remove()
        db.engine.dispose()
    seconds = time.perf_counter() - started
    return Seeded(users, follows, posts, seconds, tuple(ids[:READERS]), nickname, 0)


def _posts(rng: random.Random, ids: list[int], count: int, now: datetime) -> Iterator[dict]:
    # Oldest first, evenly spread with jitter: sorted without holding every age in memory.
    for i in range(count):
        age = YEAR.total_seconds() * (1 - (i + rng.random()) / count)
        yield {
            "user_id": rng.choice(ids),
            "body": _body(rng, len(ids)),
            "created_at": now - timedelta(seconds=age),
        }


def _progress(rows: Iterator[dict], total: int) -> Iterator[dict]:
    started = time.monotonic()
    for n, row in enumerate(rows, start=1):
        yield row
        if n % PROGRESS_EVERY == 0 or n == total:
            seconds = time.monotonic() - started
            bar = "#" * (30 * n // total)
            print(
                f"\r   posts [{bar:<30}] {n:,}/{total:,} {seconds:.0f} s",
                end="\n" if n == total else "",
                file=sys.stderr,
                flush=True,
            )


def _copy_posts(rows: Iterator[dict]) -> None:
    """COPY the posts in with the post table's secondary indexes dropped; build them after."""
    engine = db.engine
    with engine.begin() as conn:
        indexes = conn.execute(
            sa.text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'post' "
                "AND i.schemaname = current_schema() AND NOT EXISTS (SELECT 1 FROM "
                "pg_constraint c WHERE c.conname = i.indexname)"
            )
        ).all()
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    raw: Any = engine.raw_connection()
    try:
        with raw.cursor() as cursor:
            statement = "COPY post (user_id, body, created_at) FROM STDIN"
            with cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row((row["user_id"], row["body"], row["created_at"]))
        raw.commit()
    finally:
        raw.close()
    started = time.monotonic()
    print(f"   building {len(indexes)} indexes on post ...", file=sys.stderr, flush=True)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            conn.exec_driver_sql(definition)
    print(f"   indexes built in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    vacuum_own_tables(engine)
