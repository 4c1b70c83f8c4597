"""Every page runs a fixed, small number of SQL statements, however long it is."""

import re
from datetime import timedelta

import pytest

from microblog.extensions import db
from microblog.social.models import Follow, Like, Mention, Notification, Post, PostEdit
from tests.social.helpers import START, bodies


def busy_posts(make_user, n, tag, reply_to=None, chain=False):
    """n posts by n authors, each liked, mentioning someone, with a reply; optionally a chain."""
    authors = [make_user(f"{tag}{i}", display_name=f"Person {i}") for i in range(n)]
    posts = []
    for i, author in enumerate(authors):
        parent = posts[-1] if chain and posts else reply_to
        posts.append(Post(user_id=author.id, body=f"{tag}-{i} @{authors[0].nickname}",
                          reply_to_id=parent and parent.id,
                          created_at=START + timedelta(minutes=i)))  # fmt: skip
        db.session.add(posts[-1])
        db.session.flush()
    for i, post in enumerate(posts):
        db.session.add(Like(post_id=post.id, user_id=authors[(i + 1) % n].id))
        db.session.add(Mention(post_id=post.id, name=authors[0].nickname, user_id=authors[0].id))
        db.session.add(Post(user_id=authors[0].id, body="re", reply_to_id=post.id,
                            created_at=START + timedelta(days=1, minutes=i)))  # fmt: skip
    db.session.commit()
    return authors, posts


def thread_page(alice, make_user, n):
    (root,) = busy_posts(make_user, 1, f"root{n}_")[1]
    busy_posts(make_user, n, f"r{n}_", reply_to=root)
    return f"/p/{root.id}"


def thread_up(alice, make_user, n):
    _, chain = busy_posts(make_user, n, f"c{n}_", chain=True)
    return f"/p/{chain[-1].id}"


def notifications(alice, make_user, n):
    authors, posts = busy_posts(make_user, n, f"n{n}_")
    db.session.add_all(
        Notification(recipient_id=alice.id, actor_id=a.id, kind=k, post_id=p.id)
        for a, p in zip(authors, posts, strict=True)
        for k in ("mention", "like")
    )
    db.session.commit()
    return "/notifications"


def people(direction):
    def build(alice, make_user, n):
        bob = make_user(f"bob{n}")
        for person in [make_user(f"f{n}_{i}", about="hi @bob") for i in range(n)]:
            pair = (person.id, bob.id) if direction == "followers" else (bob.id, person.id)
            db.session.add(Follow(follower_id=pair[0], followed_id=pair[1]))
        db.session.commit()
        return f"/u/{bob.nickname}/{direction}"

    return build


def history(alice, make_user, n):
    post = Post(user_id=alice.id, body="now", created_at=START)
    db.session.add(post)
    db.session.flush()
    db.session.add_all(PostEdit(post_id=post.id, body=f"v{i}", created_at=START) for i in range(n))
    db.session.commit()
    return f"/p/{post.id}/history"


def listing(path):
    def build(alice, make_user, n):
        authors, _ = busy_posts(make_user, n, f"l{n}_")
        db.session.add_all(Follow(follower_id=alice.id, followed_id=a.id) for a in authors)
        db.session.commit()
        return path(authors) if callable(path) else path

    return build


PAGES = {
    "thread": thread_page,
    "thread-up": thread_up,
    "notifications": notifications,
    "followers": people("followers"),
    "following": people("following"),
    "history": history,
    "home": listing("/"),
    "explore": listing("/explore"),
    "profile": listing(lambda authors: f"/u/{authors[0].nickname}"),
}


@pytest.mark.parametrize("page", PAGES)
def test_statements_per_page_do_not_grow(client, alice, make_user, statements, page):
    counts = []
    for n in (5, 50):
        path = PAGES[page](alice, make_user, n)
        statements.clear()
        response = client.get(path)
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 4, statements


def test_the_front_page_too(client, make_user, statements):
    counts = []
    for n in (5, 50):
        busy_posts(make_user, n, f"front{n}_")
        statements.clear()
        response = client.get("/")
        assert len(bodies(response)) == 10
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 4, statements


def test_a_page_has_its_limit_written_in(client, alice, statements):
    """Not bound: the generic plan of a statement prepared by psycopg then knows it reads one
    page, not a tenth of the posts (PostgreSQL's guess for an unknown limit)."""
    assert client.get("/explore").status_code == 200
    (sql,) = [s for s in statements if "FROM post JOIN" in s]
    assert re.search(r"LIMIT 21\b", sql)
