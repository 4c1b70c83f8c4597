"""Threads and replies: /p/<id> and POST /p/<id>/reply."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.social.models import Block, Mute, Notification, Post
from tests.helpers import csrf_token
from tests.social.helpers import START, bodies, link, send


def post(author, body, reply_to=None, minutes=0):
    p = Post(
        user_id=author.id,
        body=body,
        reply_to_id=reply_to and reply_to.id,
        created_at=START + timedelta(minutes=minutes),
    )
    db.session.add(p)
    db.session.commit()
    return p


@pytest.fixture
def thread(make_user):
    """bob: root; carol: a reply; bob: a reply to the reply; dave: a second reply to root."""
    bob, carol, dave = make_user("bob"), make_user("carol"), make_user("dave")
    root = post(bob, "root")
    middle = post(carol, "middle", root, 1)
    leaf = post(bob, "leaf", middle, 2)
    other = post(dave, "other", root, 3)
    return root, middle, leaf, other


def test_a_thread_shows_what_a_post_answers_then_its_replies(client, thread):
    root, middle, leaf, other = thread
    response = client.get(f"/p/{middle.id}")
    assert response.status_code == 200
    assert bodies(response) == ["root", "middle", "leaf"]
    html = response.get_data(as_text=True)
    assert 'href="/login?next=/p/%d">Sign in to reply' % middle.id in html
    assert bodies(client.get(f"/p/{root.id}")) == ["root", "middle", "other"]


def test_reply_counts_are_shown(client, thread):
    root, *_ = thread
    html = client.get("/explore").get_data(as_text=True)
    assert f'<a href="/p/{root.id}#replies">2 replies</a>' in html
    assert re.search(r'href="/p/\d+#replies">1 reply</a>', html)


def test_a_missing_post_is_a_404(client, alice):
    assert client.get("/p/999").status_code == 404
    assert client.get("/p/0").status_code == 404
    assert client.get(f"/p/{2**31}").status_code == 404  # past a PostgreSQL INTEGER
    assert send(client, "/p/999/reply", body="hello").status_code == 404


def test_reply(client, alice, thread):
    root, *_ = thread
    html = client.get(f"/p/{root.id}").get_data(as_text=True)
    assert f'action="/p/{root.id}/reply"' in html and "Reply to bob" in html
    response = send(client, f"/p/{root.id}/reply", body="Nice one @carol")
    reply = db.session.scalar(sa.select(Post).where(Post.user_id == alice.id))
    assert response.headers["Location"] == f"/p/{reply.id}"
    assert reply.reply_to_id == root.id and reply.body == "Nice one @carol"
    page = client.get(response.headers["Location"])
    assert "Your reply is published." in page.get_data(as_text=True)
    assert bodies(page) == ["root", 'Nice one <a class="mention" href="/u/carol">@carol</a>']
    kinds = db.session.execute(sa.select(Notification.kind, Notification.recipient_id)).all()
    assert sorted(kinds) == sorted([("reply", root.user_id), ("mention", thread[1].user_id)])


def test_a_refused_reply_keeps_what_was_typed(client, alice, thread):
    root, *_ = thread
    typed = "x" * 277 + " <i>"
    response = send(client, f"/p/{root.id}/reply", body=typed)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "this one has 281" in html
    assert ">\n" + "x" * 277 + " &lt;i&gt;</textarea>" in html
    assert bodies(response)[:1] == ["root"]  # still the thread


def test_an_empty_reply_is_refused(client, alice, thread):
    root, *_ = thread
    response = send(client, f"/p/{root.id}/reply", body="\n ")
    assert response.status_code == 422
    assert "Write something before posting." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).where(Post.user_id == alice.id)) == 0


@pytest.mark.parametrize("who_blocks", ["author", "replier"])
def test_no_reply_across_a_block(client, alice, thread, who_blocks):
    root, *_ = thread
    pair = (root.user_id, alice.id) if who_blocks == "author" else (alice.id, root.user_id)
    db.session.add(Block(blocker_id=pair[0], blocked_id=pair[1]))
    db.session.commit()
    response = send(client, f"/p/{root.id}/reply", body="let me in")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "You cannot reply to this post." in html
    assert ">\nlet me in</textarea>" in html
    assert db.session.scalar(sa.select(sa.func.count()).where(Post.user_id == alice.id)) == 0


def test_replying_needs_sign_in(client, thread):
    root, *_ = thread
    response = client.post(
        f"/p/{root.id}/reply", data={"csrf_token": csrf_token(client), "body": "hi"}
    )
    assert response.headers["Location"].startswith("/login?next=")


def test_a_deleted_post_keeps_its_place(client, thread):
    root, middle, leaf, other = thread
    middle.user_id, middle.body = None, ""
    db.session.commit()
    response = client.get(f"/p/{leaf.id}")
    assert bodies(response) == ["root", "leaf"]
    html = response.get_data(as_text=True)
    assert html.count("This post was deleted.") == 1
    assert bodies(client.get(f"/p/{root.id}")) == ["root", "other"]
    assert "This post was deleted." in client.get(f"/p/{root.id}").get_data(as_text=True)
    deleted = client.get(f"/p/{middle.id}")
    assert deleted.status_code == 200 and bodies(deleted) == ["root", "leaf"]
    assert "bob" not in bodies(client.get("/explore"))  # never listed
    assert "middle" not in client.get("/explore").get_data(as_text=True)


@pytest.mark.parametrize("relation", ["blocked", "blocked_by", "muted"])
def test_posts_of_people_one_does_not_see_are_hidden_in_threads(client, alice, thread, relation):
    root, middle, leaf, other = thread
    carol_id = middle.user_id
    db.session.add(
        {
            "blocked": Block(blocker_id=alice.id, blocked_id=carol_id),
            "blocked_by": Block(blocker_id=carol_id, blocked_id=alice.id),
            "muted": Mute(muter_id=alice.id, muted_id=carol_id),
        }[relation]
    )
    db.session.commit()
    up = client.get(f"/p/{leaf.id}")
    assert bodies(up) == ["root", "leaf"]
    assert "This post is hidden" in up.get_data(as_text=True)
    assert bodies(client.get(f"/p/{root.id}")) == ["root", "other"]  # not among the replies
    assert "middle" not in bodies(client.get("/explore"))


def test_replies_read_oldest_first_in_pages(client, make_user):
    bob = make_user("bob")
    root = post(bob, "root")
    for i in range(45):
        post(bob, f"r{i}", root, i + 1)
    first = client.get(f"/p/{root.id}")
    assert bodies(first) == ["root"] + [f"r{i}" for i in range(20)]
    assert link(first, "prev") is None
    second = client.get(link(first, "next"))
    assert bodies(second) == ["root"] + [f"r{i}" for i in range(20, 40)]
    third = client.get(link(second, "next"))
    assert bodies(third) == ["root"] + [f"r{i}" for i in range(40, 45)]
    assert link(third, "next") is None
    back = client.get(link(third, "prev"))
    assert bodies(back) == bodies(second)
    assert client.get(f"/p/{root.id}?after=broken!").status_code == 400


def test_a_long_thread_links_further_up(client, make_user):
    bob = make_user("bob")
    chain = [post(bob, "p0")]
    for i in range(1, 40):
        chain.append(post(bob, f"p{i}", chain[-1], i))
    response = client.get(f"/p/{chain[-1].id}")
    shown = bodies(response)
    assert shown[-1] == "p39" and len(shown) == 31  # 30 above it
    top = chain[39 - 30]
    assert f'<a href="/p/{top.reply_to_id}">Earlier in the thread</a>' in response.get_data(
        as_text=True
    )
