"""Deleting (with a confirmation step) and editing one's own posts, and a post's history."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.social.models import Like, Mention, Notification, Post, PostEdit
from tests.social.helpers import START, add_posts, bodies, send


@pytest.fixture
def bob(make_user):
    return make_user("bob")


def count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# Delete


def test_delete_asks_first_and_works_without_javascript(client, alice):
    (mine,) = add_posts(alice, 1)
    html = client.get("/u/alice").get_data(as_text=True)
    assert f'action="/p/{mine.id}/delete"' in html
    ask = send(client, f"/p/{mine.id}/delete", next="/u/alice")
    assert ask.status_code == 200
    page = ask.get_data(as_text=True)
    assert "Delete this post?" in page and "post-0" in page
    assert '<input type="hidden" name="confirm" value="yes">' in page
    assert '<a class="button secondary" href="/u/alice">Keep it</a>' in page
    assert count(Post) == 1  # nothing deleted yet
    done = send(client, f"/p/{mine.id}/delete", confirm="yes", next="/u/alice")
    assert done.headers["Location"] == "/u/alice"
    assert count(Post) == 0
    assert "Your post is deleted." in client.get("/u/alice").get_data(as_text=True)


def test_delete_goes_home_from_the_posts_own_page(client, alice):
    (mine,) = add_posts(alice, 1)
    done = send(client, f"/p/{mine.id}/delete", confirm="yes", next=f"/p/{mine.id}")
    assert done.headers["Location"] == "/"


@pytest.mark.parametrize(
    "unsafe", ["//evil.example/x", "https://evil.example", "/\\evil", "/\t/evil", "x"]
)
def test_delete_never_sends_elsewhere(client, alice, unsafe):
    (mine,) = add_posts(alice, 1)
    done = send(client, f"/p/{mine.id}/delete", confirm="yes", next=unsafe)
    assert done.headers["Location"] == "/"


def test_only_the_author_may_delete_or_edit(client, alice, bob):
    (theirs,) = add_posts(bob, 1)
    assert send(client, f"/p/{theirs.id}/delete", confirm="yes").status_code == 404
    assert client.get(f"/p/{theirs.id}/edit").status_code == 404
    assert send(client, f"/p/{theirs.id}/edit", body="mine now").status_code == 404
    assert send(client, "/p/999/delete", confirm="yes").status_code == 404
    db.session.refresh(theirs)
    assert theirs.body == "post-0"
    html = client.get(f"/p/{theirs.id}").get_data(as_text=True)
    assert "/delete" not in html and "/edit" not in html


def test_delete_removes_likes_notifications_mentions_and_history(client, alice, bob):
    send(client, "/", body="hello @bob")
    mine = db.session.scalar(sa.select(Post))
    send(client, f"/p/{mine.id}/edit", body="hello again @bob")
    db.session.add(Like(post_id=mine.id, user_id=bob.id))
    db.session.commit()
    assert count(Notification) == 1 and count(Mention) == 1 and count(PostEdit) == 1
    send(client, f"/p/{mine.id}/delete", confirm="yes")
    for model in (Post, Like, Notification, Mention, PostEdit):
        assert count(model) == 0, model


def test_replies_stay_when_their_post_is_deleted(client, alice, bob):
    (mine,) = add_posts(alice, 1)
    reply = Post(user_id=bob.id, body="a reply", reply_to_id=mine.id, created_at=START)
    db.session.add(reply)
    db.session.commit()
    send(client, f"/p/{mine.id}/delete", confirm="yes")
    db.session.expire_all()
    kept = db.session.get(Post, mine.id)
    assert kept.user_id is None and kept.body == ""  # an empty place in the thread
    response = client.get(f"/p/{reply.id}")
    assert bodies(response) == ["a reply"]
    assert "This post was deleted." in response.get_data(as_text=True)
    assert bodies(client.get("/u/alice")) == []
    assert "post-0" not in client.get("/explore").get_data(as_text=True)
    assert send(client, f"/p/{mine.id}/reply", body="late").status_code == 404
    assert send(client, f"/p/{mine.id}/like").status_code == 404


def test_deleting_an_account_keeps_replies_to_its_posts(client, alice, bob):
    (mine,) = add_posts(alice, 1)
    reply = Post(user_id=bob.id, body="a reply", reply_to_id=mine.id, created_at=START)
    db.session.add(reply)
    db.session.commit()
    db.session.add(Like(post_id=mine.id, user_id=bob.id))
    db.session.commit()
    send(client, "/settings/delete", confirm="alice")
    db.session.expire_all()
    assert db.session.get(Post, reply.id).reply_to_id == mine.id
    assert count(Like) == 0
    html = client.get(f"/p/{reply.id}").get_data(as_text=True)
    assert "This post was deleted." in html and "a reply" in html


# Edit


def test_edit_and_history(client, alice):
    (mine,) = add_posts(alice, 1)
    form = client.get(f"/p/{mine.id}/edit").get_data(as_text=True)
    assert f'action="/p/{mine.id}/edit"' in form and ">\npost-0</textarea>" in form
    response = send(client, f"/p/{mine.id}/edit", body="second version")
    assert response.headers["Location"] == f"/p/{mine.id}"
    send(client, f"/p/{mine.id}/edit", body="third version")
    page = client.get(f"/p/{mine.id}").get_data(as_text=True)
    assert "Your post is saved." in page
    assert f'<a class="edited" href="/p/{mine.id}/history">edited</a>' in page
    history = client.get(f"/p/{mine.id}/history")
    assert history.status_code == 200
    versions = re.findall(r'<p class="version-body">(.*?)</p>', history.get_data(as_text=True))
    assert versions == ["second version", "post-0"]
    assert bodies(history) == ["third version"]


def test_an_edit_that_changes_nothing_keeps_no_history(client, alice):
    (mine,) = add_posts(alice, 1)
    response = send(client, f"/p/{mine.id}/edit", body="  post-0 ")
    assert "Nothing changed." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert count(PostEdit) == 0
    assert "never edited" in client.get(f"/p/{mine.id}/history").get_data(as_text=True)


@pytest.mark.parametrize(
    ("typed", "message"),
    [("", "Write something before posting."), ("é" * 277 + " <b>", "this one has 281")],
)
def test_a_refused_edit_keeps_what_was_typed(client, alice, typed, message):
    (mine,) = add_posts(alice, 1)
    response = send(client, f"/p/{mine.id}/edit", body=typed)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert ">\n" + typed.replace("<", "&lt;").replace(">", "&gt;") + "</textarea>" in html
    db.session.refresh(mine)
    assert mine.body == "post-0"


def test_history_of_others_posts_is_public_but_not_of_deleted_ones(client, bob):
    (theirs,) = add_posts(bob, 1)
    assert client.get(f"/p/{theirs.id}/history").status_code == 200
    theirs.user_id = None
    db.session.commit()
    assert client.get(f"/p/{theirs.id}/history").status_code == 404


def test_history_is_paged(client, alice):
    (mine,) = add_posts(alice, 1)
    db.session.add_all(
        PostEdit(post_id=mine.id, body=f"v{i}", created_at=START + timedelta(minutes=i))
        for i in range(25)
    )
    db.session.commit()
    first = client.get(f"/p/{mine.id}/history").get_data(as_text=True)
    assert re.findall(r'<p class="version-body">(.*?)</p>', first)[:2] == ["v24", "v23"]
    older = re.search(r'<a rel="next"[^>]* href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert re.findall(r'<p class="version-body">(.*?)</p>', second) == [
        "v4",
        "v3",
        "v2",
        "v1",
        "v0",
    ]
