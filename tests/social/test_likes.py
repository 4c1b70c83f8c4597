"""Likes: one per person per post, race-safe, idempotent, counted on every post."""

import re
import threading

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.social import posting
from microblog.social.models import Block, Like, Notification
from tests.helpers import csrf_token
from tests.social.helpers import add_posts, send


def likes():
    return db.session.scalar(sa.select(sa.func.count()).select_from(Like))


def like_button(html, post_id):
    match = re.search(
        rf'action="/p/{post_id}/(like|unlike)".*?'
        r'aria-pressed="(\w+)">\w+ <span class="count">(\d+)',
        html,
        re.S,
    )
    return match.groups()


def test_like_and_unlike(client, alice, make_user):
    (theirs,) = add_posts(make_user("bob"), 1)
    assert like_button(client.get("/explore").get_data(as_text=True), theirs.id) == (
        "like",
        "false",
        "0",
    )
    for _ in range(2):  # a second like changes nothing
        response = send(client, f"/p/{theirs.id}/like", next=f"/explore#p{theirs.id}")
        assert response.headers["Location"] == f"/explore#p{theirs.id}"
        assert likes() == 1
    html = client.get("/explore").get_data(as_text=True)
    assert like_button(html, theirs.id) == ("unlike", "true", "1")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
    for _ in range(2):
        send(client, f"/p/{theirs.id}/unlike")
        assert likes() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_counts_come_from_everyone(client, alice, make_user):
    (theirs,) = add_posts(make_user("bob"), 1)
    db.session.add_all(Like(post_id=theirs.id, user_id=make_user().id) for _ in range(3))
    db.session.commit()
    assert like_button(client.get("/explore").get_data(as_text=True), theirs.id) == (
        "like",
        "false",
        "3",
    )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/explore")})
    assert "<span>3 likes</span>" in client.get("/explore").get_data(as_text=True)


def test_liking_needs_sign_in_and_a_post(client, alice, make_user):
    assert send(client, "/p/12345/like").status_code == 404
    assert send(client, f"/p/{2**31}/like").status_code == 404


@pytest.mark.parametrize("who_blocks", ["author", "liker"])
def test_no_like_across_a_block(client, alice, make_user, who_blocks):
    bob = make_user("bob")
    (theirs,) = add_posts(bob, 1)
    pair = (bob.id, alice.id) if who_blocks == "author" else (alice.id, bob.id)
    db.session.add(Block(blocker_id=pair[0], blocked_id=pair[1]))
    db.session.commit()
    response = send(client, f"/p/{theirs.id}/like")
    assert "You cannot like this post." in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert likes() == 0


@pytest.mark.postgres
# SQLite serialises writers, so only PostgreSQL can run the race.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_tabs_liking_at_once_make_one_like(app, make_user, database_url):
    bob, carol = make_user("bob"), make_user("carol")
    (theirs,) = add_posts(bob, 1)
    post_id, carol_id = theirs.id, carol.id
    barrier = threading.Barrier(4)
    errors = []

    def click():
        with app.app_context():
            try:
                post = db.session.get(type(theirs), post_id)
                barrier.wait()
                posting.like(carol_id, post)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.expire_all()
    assert likes() == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
