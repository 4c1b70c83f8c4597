"""The home timeline's two ways of reading (issue 13) give the same pages as the plain rule."""

import dataclasses
import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.models import User
from microblog.social.models import Block, Follow, Mute, Post
from microblog.social.paging import Window, load_page
from microblog.social.queries import binds, posts_query, timeline_authors
from tests.social.helpers import START

# The walk over everyone's posts only; author by author only; the app's own choice.
BUDGETS = {"walk": 10**9, "author by author": 0, "chosen": None}


def authors_with(budget):
    authors = timeline_authors()
    if budget is None:
        return authors
    return dataclasses.replace(authors, budget=sa.select(sa.literal(budget)).scalar_subquery())


def seed_random(make_user, rng):
    """Users who follow, block and mute each other; posts with tied times; some deleted."""
    users = [make_user(f"u{i}") for i in range(12)]
    for follower in users:
        for followed in rng.sample(users, rng.randint(0, 8)):
            if followed is not follower:
                db.session.add(Follow(follower_id=follower.id, followed_id=followed.id))
    for table, columns in ((Block, ("blocker_id", "blocked_id")), (Mute, ("muter_id", "muted_id"))):
        for _ in range(6):
            a, b = rng.sample(users, 2)
            db.session.merge(table(**{columns[0]: a.id, columns[1]: b.id}))
    users[-1].suspended_at = START
    posts = [
        Post(
            user_id=rng.choice(users).id,
            body=f"p{i}",
            created_at=START + timedelta(minutes=rng.randint(0, 40)),  # many ties
        )
        for i in range(160)
    ]
    db.session.add_all(posts)
    db.session.commit()
    for post in rng.sample(posts, 10):
        post.user_id = None  # deleted, kept for its replies
    db.session.commit()
    return users


def expected_timeline(viewer_id):
    """The rule, plainly: whom the viewer follows and themselves, minus whom they do not see."""

    def ids(statement):
        return set(db.session.scalars(statement))

    hidden = ids(sa.select(Block.blocked_id).where(Block.blocker_id == viewer_id))
    hidden |= ids(sa.select(Block.blocker_id).where(Block.blocked_id == viewer_id))
    hidden |= ids(sa.select(Mute.muted_id).where(Mute.muter_id == viewer_id))
    hidden |= ids(sa.select(User.id).where(User.suspended_at.is_not(None)))
    authors = ids(sa.select(Follow.followed_id).where(Follow.follower_id == viewer_id))
    authors = (authors | {viewer_id}) - hidden
    posts = db.session.execute(
        sa.select(Post.id, Post.created_at).where(Post.user_id.in_(authors))
    ).all()
    return [p.id for p in sorted(posts, key=lambda p: (p.created_at, p.id), reverse=True)]


def read_all(viewer_id, authors, size):
    """Page down with the Older cursors, then back up with the Newer ones; return both."""
    down, pages, window = [], [], Window(None, None, size)
    while True:
        page = load_page(posts_query(True), window, binds(viewer_id), authors=authors)
        pages.append([p.id for p in page.items])
        down += pages[-1]
        if page.older is None:
            break
        window = Window.from_cursors(page.older, None, size)
    up = [pages[-1]]
    while page.newer is not None:
        page = load_page(
            posts_query(True),
            Window.from_cursors(None, page.newer, size),
            binds(viewer_id),
            authors=authors,
        )
        up.append([p.id for p in page.items])
    return down, pages, up


@pytest.mark.parametrize("budget", BUDGETS.values(), ids=BUDGETS.keys())
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_way_reads_the_same_pages_as_the_rule(app, make_user, budget, seed):
    viewers = [user.id for user in seed_random(make_user, random.Random(seed))]
    for viewer_id in viewers:
        expected = expected_timeline(viewer_id)
        down, pages, up = read_all(viewer_id, authors_with(budget), size=4)
        assert down == expected, viewer_id
        assert up == list(reversed(pages)), viewer_id  # Newer retraces Older
        db.session.expunge_all()


def test_the_walk_falls_back_when_it_finds_less_than_a_page(app, make_user):
    """A budget too small for a page (quiet people, long ago): read author by author."""
    viewer, quiet, busy = make_user("viewer"), make_user("quiet"), make_user("busy")
    db.session.add(Follow(follower_id=viewer.id, followed_id=quiet.id))
    old = [Post(user_id=quiet.id, body=f"old{i}", created_at=START + timedelta(minutes=i))
           for i in range(3)]  # fmt: skip
    new = [Post(user_id=busy.id, body=f"new{i}", created_at=START + timedelta(days=1, minutes=i))
           for i in range(50)]  # fmt: skip
    db.session.add_all(old + new)
    db.session.commit()
    page = load_page(posts_query(True), Window(None, None, 20), binds(viewer.id),
                     authors=timeline_authors())  # fmt: skip
    assert [p.body for p in page.items] == ["old2", "old1", "old0"]
    assert page.older is None and page.newer is None


def test_the_timeline_is_one_statement(app, make_user, statements):
    viewer, other = make_user("viewer"), make_user("other")
    db.session.add(Follow(follower_id=viewer.id, followed_id=other.id))
    db.session.add_all(Post(user_id=other.id, body=f"b{i}", created_at=START) for i in range(9))
    db.session.commit()
    viewer_id = viewer.id
    statements.clear()
    load_page(posts_query(True), Window(None, None, 5), binds(viewer_id),
              authors=timeline_authors())  # fmt: skip
    assert len(statements) == 1
