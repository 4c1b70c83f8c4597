"""Seed a benchmark database through the app's own models: users, follows, a year of posts
with replies, likes and mentions, and the reader's notifications."""

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
from microblog.extensions import db
from microblog.models import User
from microblog.social.models import Follow, Like, Mention, Notification, Post, PostTag
from microblog.social.text import hashtags

BATCH = 20_000
YEAR = timedelta(days=365)
REPLIES = 0.2  # of posts answer an earlier one, most often a recent one
LIKED = 0.3  # of posts have likes, 1 to 8 each
THREAD_REPLIES = 45  # the measured thread: more replies than a page holds
READERS = 200  # the signed-in load rotates over these, so no cache of one whole page serves it
NOTIFICATIONS = 100  # for each reader: more than a page, the newest unseen
# The measured profile shows more than a page of posts at every size (at 10k a person has
# about 10): growth compares the same page at 10k and 1M posts, not a short one with a full one.
PROFILE_POSTS = 21
WORDS = """
    the a of and to in is it that was for on are with as I his they be at one have this from
    or had by hot word but what some we can out other were all there when up use your how
    said an each she which do their time if will way about many then them write would like
    so these her long make thing see him two has look more day could go come did number
    sound no most people my over know water than call first who may down side been now find
    coffee morning train garden bread river mountain city music book window rain summer
    winter quiet bright small large early late fast slow new old good great little right
    """.split()
# A tenth of the posts carry a tag, the common ones more often (a long tail, as on a real site).
TAGS = "coffee flask python garden music books rain trains bread city".split()
TAGGED = 0.1
URLS = (
    "https://example.org/notes",
    "https://www.python.org/",
    "https://flask.palletsprojects.com/",
)


@dataclass(frozen=True)
class Seeded:
    """What was seeded, and the people the benchmark visits."""

    users: int
    follows: int
    posts: int
    seconds: float
    reader_ids: tuple[int, ...]  # READERS people who follow `follows` each: the signed-in load
    profile_nickname: str  # someone the reader follows: their profile is measured
    thread_post_id: int  # a reply deep in a thread with many replies: its page is measured

    @property
    def reader_id(self) -> int:
        """The first reader: the in-process checks and the profile sign in as them."""
        return self.reader_ids[0]


def seed(
    app: Flask, posts: int, users: int = 1000, follows: int = 50, rng_seed: int = 42
) -> Seeded:
    """Build the schema with the app's migrations, then bulk-insert deterministic data."""
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    # The newest posts are from just now, as on a live site; the rest of each row comes from
    # the seed, so runs differ only in this moment.
    now = datetime.now(UTC)
    with app.app_context():
        upgrade()
        db.session.execute(sa.insert(User), list(_users(rng, users, now)))
        # The database numbers the users (PostgreSQL's sequence must know them, for sign-ins).
        ids = db.session.scalars(sa.select(User.id).order_by(User.id)).all()
        followed_by_reader: list[int] = []
        follow_rows = list(_follows(rng, ids, follows, now, followed_by_reader))
        tag_rng = random.Random(rng_seed + 1)  # its own: the posts stay those of earlier runs
        for batch in _batches(_posts(rng, ids, posts, now)):
            for row in batch:
                if tag_rng.random() < TAGGED:
                    row["body"] = _tagged(tag_rng, row["body"])
            db.session.execute(sa.insert(Post), batch)
            db.session.commit()
        thread_post_id = _threads_likes_mentions(rng, ids, now)
        # Follows after the posts: each takes its person's newest post's time once (migration
        # 0012's trigger), where posts after them would each update all their followers' rows.
        for batch in _batches(follow_rows):
            db.session.execute(sa.insert(Follow), batch)
        db.session.commit()
        for reader in ids[:READERS]:
            rows = list(_notifications(rng, reader, ids, now))
            db.session.execute(sa.insert(Notification), rows)
        db.session.commit()
        _fill_profile(random.Random(rng_seed + 2), followed_by_reader[0], ids, now)
        _store_tags()
        if db.engine.dialect.name == "postgresql":
            vacuum_own_tables(db.engine)  # as autovacuum would, a minute after a bulk load
        profile = db.session.get(User, followed_by_reader[0])
        assert profile is not None
        nickname = profile.nickname
        db.engine.dispose()
    seconds = time.perf_counter() - started
    return Seeded(users, follows, posts, seconds, tuple(ids[:READERS]), nickname, thread_post_id)


def _fill_profile(rng: random.Random, user_id: int, ids: list[int], now: datetime) -> None:
    """Give the measured person PROFILE_POSTS posts over the year if they have fewer."""
    count = sa.select(sa.func.count()).where(Post.user_id == user_id)
    missing = PROFILE_POSTS - (db.session.scalar(count) or 0)
    rows = [
        {
            "user_id": user_id,
            "body": _body(rng, len(ids)),
            "created_at": now - timedelta(seconds=rng.random() * YEAR.total_seconds()),
        }
        for _ in range(max(0, missing))
    ]
    if rows:
        db.session.execute(sa.insert(Post), rows)
        db.session.commit()


def _tagged(rng: random.Random, body: str) -> str:
    tag = TAGS[min(int(rng.paretovariate(1.2)) - 1, len(TAGS) - 1)]
    return f"{body} #{tag.capitalize() if rng.random() < 0.3 else tag}"[-280:]


def _store_tags() -> None:
    """Store the posts' tags by the app's own rule (text.hashtags), as the write paths do."""
    rows = db.session.execute(
        sa.select(Post.id, Post.body, Post.created_at).where(Post.body.contains("#"))
    ).all()
    tags = [
        {"post_id": post_id, "tag": tag, "created_at": created_at}
        for post_id, body, created_at in rows
        for tag in hashtags(body)
    ]
    for batch in _batches(iter(tags)):
        db.session.execute(sa.insert(PostTag), batch)
    db.session.commit()


def _users(rng: random.Random, count: int, now: datetime) -> Iterator[dict]:
    for i in range(1, count + 1):
        yield {
            "nickname": f"user{i:04d}",
            "email": f"user{i:04d}@example.org",
            "about": f"Bench user number {i}.",
            "picture": None,
            "created_at": now - YEAR - timedelta(days=rng.random() * 30),
        }


def _follows(
    rng: random.Random, ids: list[int], per_user: int, now: datetime, reader_follows: list[int]
) -> Iterator[dict]:
    for n, follower in enumerate(ids):
        # Pick among everyone but the follower: nobody follows themselves.
        picks = rng.sample(range(len(ids) - 1), per_user)
        followed = [ids[p if p < n else p + 1] for p in picks]
        if n == 0:
            reader_follows.extend(followed)
        for followed_id in followed:
            yield {"follower_id": follower, "followed_id": followed_id, "created_at": now - YEAR}


def _posts(rng: random.Random, ids: list[int], count: int, now: datetime) -> Iterator[dict]:
    # Sorted ages, oldest first: ids then grow with time, as they do on a real site.
    ages = sorted((rng.random() * YEAR.total_seconds() for _ in range(count)), reverse=True)
    for age in ages:
        yield {
            "user_id": rng.choice(ids),
            "body": _body(rng, len(ids)),
            "created_at": now - timedelta(seconds=age),
        }


def _threads_likes_mentions(rng: random.Random, ids: list[int], now: datetime) -> int:
    """Make replies, likes and mentions among the seeded posts; return the thread to measure."""
    rows = db.session.execute(sa.select(Post.id, Post.body).order_by(Post.id)).all()
    post_ids = [r.id for r in rows]
    # A thread ten deep whose top has many replies, from the newest posts: the measured one.
    chain = post_ids[-THREAD_REPLIES - 10 : -THREAD_REPLIES]
    replies = {b: a for a, b in zip(chain, chain[1:], strict=False)}
    replies.update((r, chain[-1]) for r in post_ids[-THREAD_REPLIES:])
    for n, post_id in enumerate(post_ids[1 : -THREAD_REPLIES - 10], start=1):
        if rng.random() < REPLIES:  # mostly to one of the last thousand posts
            replies[post_id] = post_ids[max(0, n - 1 - int(rng.expovariate(1 / 200)) % 1000)]
    updates = [{"b_id": p, "reply_to_id": r} for p, r in replies.items()]
    statement = sa.update(Post.__table__).where(Post.__table__.c.id == sa.bindparam("b_id"))
    for batch in _batches(iter(updates)):
        db.session.connection().execute(statement, batch)
    likes = (
        {"post_id": p, "user_id": u, "created_at": now}
        for p in post_ids
        if rng.random() < LIKED
        for u in rng.sample(ids, rng.randint(1, 8))
    )
    for batch in _batches(likes):
        db.session.execute(sa.insert(Like), batch)
    by_nickname = {f"user{i:04d}": user_id for i, user_id in enumerate(ids, start=1)}
    mentions = (
        {"post_id": r.id, "name": word[1:].lower(), "user_id": by_nickname[word[1:].lower()]}
        for r in rows
        if "@" in r.body
        for word in {w.rstrip(".,") for w in r.body.split() if w.startswith("@")}
        if word[1:].lower() in by_nickname
    )
    for batch in _batches(mentions):
        db.session.execute(sa.insert(Mention), batch)
    db.session.commit()
    return chain[-1]


def _notifications(
    rng: random.Random, reader: int, ids: list[int], now: datetime
) -> Iterator[dict]:
    posts = db.session.scalars(
        sa.select(Post.id).where(Post.user_id == reader).order_by(Post.id.desc()).limit(50)
    ).all()
    others = [i for i in ids if i != reader]
    for n in range(NOTIFICATIONS):
        kind = rng.choice(("mention", "reply", "like", "follow"))
        yield {
            "recipient_id": reader,
            "actor_id": rng.choice(others),
            "kind": kind,
            "post_id": None if kind == "follow" or not posts else rng.choice(posts),
            "created_at": now - timedelta(minutes=NOTIFICATIONS - n),
            "seen": n < NOTIFICATIONS - 30,
        }


def _body(rng: random.Random, users: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(4, 30))
    roll = rng.random()
    if roll < 0.1:
        words.insert(rng.randint(0, len(words)), f"@user{rng.randint(1, users):04d}")
    elif roll < 0.15:
        words.append(rng.choice(URLS))
    return " ".join(words).capitalize()[:280]


def _batches(rows: Iterator[dict], size: int = BATCH) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
