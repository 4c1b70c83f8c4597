"""The heavy readers' site (bench/heavy.py): 10,000 users, N posts, and the kinds of reader.

A reader follows 50 people, or 2,000 (busy ones), or 2,000 quiet ones (a post each in the
year), or 5 whose posts are all a year old, or nobody; everyone else follows 50.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from bench.databases import vacuum_own_tables
from bench.seed import YEAR, _batches, _body
from microblog.extensions import db
from microblog.models import User
from microblog.social.models import Follow, Post

USERS = 10_000
FOLLOWS = 50  # everyone else's follows
HEAVY = 2_000  # whom the heavy reader (and the one of quiet people) follows
QUIET = 2_000  # people with one post each in the year
ANCIENT = 5  # people whose three posts each are all from a year ago
READERS = ("follows 50", "follows 2000", "follows 2000 quiet", "follows 5 ancient", "follows 0")


@dataclass(frozen=True)
class Heavy:
    """What was seeded, and who reads."""

    posts: int
    seconds: float
    readers: dict[str, int]  # kind -> user id


def seed(app: Flask, posts: int, rng_seed: int = 13) -> Heavy:
    """Build the schema with the migrations, then bulk-insert users, follows and posts."""
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        db.session.execute(sa.insert(User), list(_users(USERS, now)))
        ids = db.session.scalars(sa.select(User.id).order_by(User.id)).all()
        readers = dict(zip(READERS, ids, strict=False))
        quiet = ids[len(READERS) : len(READERS) + QUIET]
        ancient = ids[len(READERS) + QUIET : len(READERS) + QUIET + ANCIENT]
        active = ids[len(READERS) + QUIET + ANCIENT :]
        follows = {
            readers["follows 50"]: rng.sample(active, FOLLOWS),
            readers["follows 2000"]: rng.sample(active, HEAVY),
            readers["follows 2000 quiet"]: quiet,
            readers["follows 5 ancient"]: ancient,
        }
        for user_id in ids[len(READERS) :]:
            follows[user_id] = [f for f in rng.sample(ids, FOLLOWS + 1) if f != user_id][:FOLLOWS]
        for n, batch in enumerate(_batches(_posts(rng, posts, active, quiet, ancient, now))):
            db.session.execute(sa.insert(Post), batch)
            db.session.commit()
            done = min(posts, (n + 1) * len(batch))
            print(f"\r   seeding posts: {done:,}/{posts:,}", end="", flush=True)
        print(flush=True)
        # Follows after the posts: each takes its person's newest post's time once (migration
        # 0012's trigger), where posts after them would each update all their followers' rows.
        rows = (
            {"follower_id": a, "followed_id": b, "created_at": now - YEAR}
            for a, bs in follows.items()
            for b in bs
        )
        for batch in _batches(rows):
            db.session.execute(sa.insert(Follow), batch)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            vacuum_own_tables(db.engine)
        db.engine.dispose()
    return Heavy(posts, time.perf_counter() - started, readers)


def seeded(app: Flask, posts: int) -> Heavy:
    """Find the readers of a database this module seeded earlier (--url)."""
    with app.app_context():
        ids = db.session.scalars(sa.select(User.id).order_by(User.id).limit(len(READERS))).all()
        db.session.remove()
    return Heavy(posts, 0.0, dict(zip(READERS, ids, strict=True)))


def _users(count: int, now: datetime) -> Iterator[dict]:
    for i in range(1, count + 1):
        yield {
            "nickname": f"heavy{i:05d}",
            "email": f"heavy{i:05d}@example.org",
            "about": "",
            "picture": None,
            "created_at": now - YEAR - timedelta(days=30),
        }


def _posts(
    rng: random.Random,
    count: int,
    active: list[int],
    quiet: list[int],
    ancient: list[int],
    now: datetime,
) -> Iterator[dict]:
    """Posts oldest first (ids grow with time): the active write most of them."""
    seconds = YEAR.total_seconds()
    dated = [(rng.random() * seconds, q) for q in quiet]
    dated += [(seconds * (0.92 + rng.random() * 0.08), a) for a in ancient for _ in range(3)]
    dated += [(rng.random() * seconds, rng.choice(active)) for _ in range(count - len(dated))]
    dated.sort(reverse=True)
    for age, author in dated:
        yield {
            "user_id": author,
            "body": _body(rng, USERS),
            "created_at": now - timedelta(seconds=age),
        }
