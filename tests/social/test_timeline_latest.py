"""A first timeline page reads the people followed who posted last (follow.followed_posted_at):
the triggers keep that column right through every write, and the pages stay the rule's."""

import random
import statistics
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.models import User
from microblog.social import merge, posting, relations
from microblog.social.models import EVERYONE_READS, FANOUT_LIMIT, Follow, Post
from microblog.social.paging import Window, load_page
from microblog.social.queries import binds, posts_query, timeline_authors
from tests.social.helpers import START
from tests.social.test_timeline import expected_timeline, read_all, seed_random

MIGRATION = "migrations/versions/0012_followed_posted_at.py"


def check_followed_posted_at():
    """Every follow row says its person's newest post's time, or EVERYONE_READS if crowded."""
    newest = dict(
        db.session.execute(
            sa.select(Post.user_id, sa.func.max(Post.created_at)).group_by(Post.user_id)
        ).all()
    )
    crowd = sa.select(Follow.followed_id).group_by(Follow.followed_id)
    crowded = set(db.session.scalars(crowd.having(sa.func.count() > FANOUT_LIMIT)))
    rows = db.session.execute(sa.select(Follow.followed_id, Follow.followed_posted_at)).all()
    for followed_id, posted_at in rows:
        if followed_id in crowded:
            assert posted_at == EVERYONE_READS, followed_id
        elif posted_at != EVERYONE_READS:  # once crowded, rows may stay so: still read
            assert posted_at == newest.get(followed_id), followed_id


def first_page(viewer_id, size):
    window = Window(None, None, size)
    page = load_page(posts_query(True), window, binds(viewer_id), authors=timeline_authors())
    return [p.id for p in page.items], page.older is not None


def check_pages(viewers, size=4, cursors=True):
    check_followed_posted_at()
    for viewer_id in viewers:
        expected = expected_timeline(viewer_id)
        assert first_page(viewer_id, size) == (expected[:size], len(expected) > size), viewer_id
        if cursors:  # and the pages after it, which read as before
            assert read_all(viewer_id, timeline_authors(), size)[0] == expected, viewer_id
        db.session.expunge_all()


def alive(ids):
    return [i for i in ids if db.session.get(User, i) is not None]


def some_post(rng, **where):
    ids = db.session.scalars(sa.select(Post.id).filter_by(**where).where(Post.user_id.is_not(None)))
    ids = list(ids)
    return db.session.get(Post, rng.choice(ids)) if ids else None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_first_pages_follow_every_kind_of_write(app, make_user, seed):
    rng = random.Random(seed)
    users = [user.id for user in seed_random(make_user, rng)]
    check_pages(users)
    for step in range(30):
        ids = alive(users)
        a, b = rng.sample(ids, 2)
        kind = rng.choice(
            ["post", "post", "reply", "delete", "delete", "follow", "unfollow", "block",
             "mute", "redate", "merge", "leave"]
        )  # fmt: skip
        if kind == "post":
            post = posting.publish(a, f"s{step}")
            post.created_at = START + timedelta(minutes=rng.randint(0, 60))  # ties, and older
            db.session.commit()
        elif kind == "reply" and (parent := some_post(rng)) is not None:
            posting.publish(a, f"r{step}", reply_to=parent)
        elif kind == "delete" and (post := some_post(rng)) is not None:
            posting.delete(post)  # an empty row if it has replies, else gone
        elif kind == "follow":
            relations.follow(a, b)
        elif kind == "unfollow":
            relations.unfollow(a, b)
        elif kind == "block":
            relations.block(a, b)
        elif kind == "mute":
            relations.mute(a, b)
        elif kind == "redate" and (post := some_post(rng, user_id=a)) is not None:
            post.created_at = START - timedelta(minutes=rng.randint(0, 60))
            db.session.commit()
        elif kind == "merge":
            merge.move_account(a, b)
            db.session.execute(sa.delete(User).where(User.id == b))
            db.session.commit()
        elif kind == "leave":  # as Settings deletes an account
            posting.keep_threads_of(a)
            db.session.execute(sa.delete(User).where(User.id == a))
            db.session.commit()
        db.session.expire_all()
        check_pages(alive(users), cursors=step % 5 == 4)


def test_a_quiet_persons_one_post_leads_the_page(app, make_user):
    """Many people followed, the one who posted last long ago: still on the first page."""
    viewer, quiet = make_user("viewer"), make_user("quiet")
    busy = [make_user(f"busy{i}") for i in range(30)]
    for person in [quiet, *busy]:
        db.session.add(Follow(follower_id=viewer.id, followed_id=person.id))
    db.session.commit()
    db.session.add(Post(user_id=quiet.id, body="the only one", created_at=START))
    for i, person in enumerate(busy):
        db.session.add(Post(user_id=person.id, body=f"b{i}", created_at=START - timedelta(days=1)))
    db.session.commit()
    page = load_page(posts_query(True), Window(None, None, 5), binds(viewer.id),
                     authors=timeline_authors())  # fmt: skip
    assert page.items[0].body == "the only one" and len(page.items) == 5


def many_followers(author, count):
    """count people who follow author, inserted in bulk."""
    first = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(User.id), 0)))
    rows = [{"nickname": f"f{first + i}", "email": f"f{first + i}@example.org"}
            for i in range(count)]  # fmt: skip
    db.session.execute(sa.insert(User), rows)
    ids = db.session.scalars(sa.select(User.id).where(User.id > first)).all()
    db.session.execute(
        sa.insert(Follow), [{"follower_id": i, "followed_id": author.id} for i in ids]
    )
    db.session.commit()
    return ids


def test_a_crowded_authors_rows_say_everyone_reads_them(app, make_user):
    star, other = make_user("star"), make_user("other")
    old = Post(user_id=star.id, body="old", created_at=START)
    db.session.add(old)
    db.session.commit()
    followers = many_followers(star, FANOUT_LIMIT)
    check_followed_posted_at()  # not crowded yet: each row has the post's time
    assert db.session.scalar(sa.select(sa.func.max(Follow.followed_posted_at))) == START
    relations.follow(other.id, star.id)  # one more than the limit
    posted_at = sa.select(Follow.followed_posted_at).where(Follow.followed_id == star.id).distinct()
    assert db.session.scalars(posted_at).all() == [EVERYONE_READS]
    new = posting.publish(star.id, "new")
    assert db.session.scalars(posted_at).all() == [EVERYONE_READS]  # no row written
    for viewer_id in (followers[0], other.id):
        assert first_page(viewer_id, 20) == ([new.id, old.id], False)
    check_pages([followers[0], other.id, star.id])


def test_the_migration_and_the_models_agree_on_the_limit():
    from pathlib import Path

    text = Path(MIGRATION).read_text()
    assert f"FANOUT_LIMIT = {FANOUT_LIMIT}\n" in text
    assert f"'{EVERYONE_READS:%Y-%m-%d %H:%M:%S.%f}'" in text


def test_posting_stays_quick_for_an_author_with_10000_followers(app, make_user):
    """Issue 13: posting stays within 20 ms for an author with 10,000 followers."""
    author = make_user("author")
    many_followers(author, 10_000)
    times = []
    for i in range(7):
        started = time.perf_counter()
        posting.publish(author.id, f"hello {i}")
        times.append(time.perf_counter() - started)
    assert statistics.median(times) < 0.020, times
