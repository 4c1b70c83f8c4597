"""Mentions as references, and notifications: who hears of what, the unread count, paging."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.social.models import Block, Mention, Mute, Notification, Post
from tests.social.helpers import START, add_posts, bodies, link, send


def notices(user):
    query = sa.select(Notification.kind, Notification.actor_id).where(
        Notification.recipient_id == user.id
    )
    return sorted(db.session.execute(query).all())


def listed(response):
    """The notification lines on a page: "<nickname> <what>"."""
    html = response.get_data(as_text=True)
    return [
        f"{who} {what.strip()}"
        for who, what in re.findall(
            r'<span class="nickname">@(\w+)</span></a>\s*([a-z ]+?)\s*<time', html
        )
    ]


@pytest.fixture
def bob(make_user):
    return make_user("bob")


# Mentions


def test_a_mention_keeps_pointing_at_the_person_after_a_rename(client, alice, bob, make_user):
    send(client, "/", body="hello @Bob and @nobody")
    assert db.session.execute(sa.select(Mention.name, Mention.user_id)).all() == [("bob", bob.id)]
    bob.nickname = "robert"
    db.session.commit()
    make_user("bob")  # a stranger takes the freed nickname
    assert bodies(client.get("/explore")) == [
        'hello <a class="mention" href="/u/robert">@Bob</a> and @nobody'
    ]


def test_editing_resolves_mentions_again_and_tells_only_the_new(client, alice, bob, make_user):
    carol, dave = make_user("carol"), make_user("dave")
    send(client, "/", body="hi @bob @carol")
    post = db.session.scalar(sa.select(Post))
    send(client, f"/p/{post.id}/edit", body="hi @carol @dave")
    assert notices(bob) == []  # no longer mentioned: the notice goes
    assert notices(carol) == [("mention", alice.id)]  # once, not twice
    assert notices(dave) == [("mention", alice.id)]
    html = client.get(f"/p/{post.id}").get_data(as_text=True)
    assert 'href="/u/dave">@dave</a>' in html and 'href="/u/bob"' not in html


# Who hears of what


def test_each_kind_is_notified_and_listed(client, alice, bob, sign_in):
    (mine,) = add_posts(alice, 1)
    sign_in(bob)
    send(client, "/u/alice/follow")
    send(client, f"/p/{mine.id}/like")
    send(client, f"/p/{mine.id}/reply", body="hello")
    send(client, "/", body="hey @alice")
    sign_in(alice)
    response = client.get("/notifications")
    assert listed(response) == [
        "bob mentioned you",
        "bob replied to your post",
        "bob liked your post",
        "bob followed you",
    ]
    html = response.get_data(as_text=True)
    assert html.count('<span class="badge">new</span>') == 4
    assert 'href="/p/' in html and ">hey @alice</a>" in html


def test_never_for_ones_own_acts(client, alice):
    (mine,) = add_posts(alice, 1)
    send(client, f"/p/{mine.id}/like")
    send(client, f"/p/{mine.id}/reply", body="me again @alice")
    assert notices(alice) == []


@pytest.mark.parametrize("relation", ["blocked", "muted"])
def test_never_from_people_one_blocked_or_muted(client, alice, bob, sign_in, relation):
    (mine,) = add_posts(alice, 1)
    send(client, "/u/bob/follow")
    model = Block(blocker_id=alice.id, blocked_id=bob.id) if relation == "blocked" else None
    db.session.add(model or Mute(muter_id=alice.id, muted_id=bob.id))
    db.session.commit()
    sign_in(bob)
    send(client, "/", body="hey @alice")
    send(client, f"/p/{mine.id}/like")
    send(client, f"/p/{mine.id}/reply", body="hello")
    assert notices(alice) == []


def test_earlier_notifications_vanish_on_mute_and_come_back(client, alice, bob, sign_in):
    sign_in(bob)
    send(client, "/", body="hey @alice")
    sign_in(alice)
    assert listed(client.get("/notifications")) == ["bob mentioned you"]
    send(client, "/u/bob/mute")
    assert listed(client.get("/notifications")) == []
    send(client, "/u/bob/unmute")
    assert listed(client.get("/notifications")) == ["bob mentioned you"]


def test_notifications_go_with_the_post_or_the_person(client, alice, bob, sign_in, make_user):
    carol = make_user("carol")
    sign_in(bob)
    send(client, "/", body="hey @alice")
    sign_in(carol)
    send(client, "/", body="hi @alice")
    assert len(notices(alice)) == 2
    post = db.session.scalar(sa.select(Post).where(Post.user_id == bob.id))
    sign_in(bob)
    send(client, f"/p/{post.id}/delete", confirm="yes")
    assert notices(alice) == [("mention", carol.id)]
    sign_in(carol)
    send(client, "/settings/delete", confirm="carol")
    assert notices(alice) == []


# The unread count and the page


def unread_badge(client):
    html = client.get("/explore").get_data(as_text=True)
    match = re.search(r'Notifications <span class="badge">(\d+)<', html)
    return int(match.group(1)) if match else 0


def test_the_unread_count_is_cleared_by_visiting(client, alice, bob, sign_in):
    sign_in(bob)
    send(client, "/", body="hey @alice")
    send(client, "/u/alice/follow")
    sign_in(alice)
    assert unread_badge(client) == 2
    first = client.get("/notifications").get_data(as_text=True)
    assert first.count('<span class="badge">new</span>') == 2
    assert 'Notifications <span class="badge">' not in first
    assert unread_badge(client) == 0
    again = client.get("/notifications").get_data(as_text=True)
    assert '<span class="badge">new</span>' not in again


def test_notifications_need_sign_in(client):
    assert client.get("/notifications").headers["Location"] == "/login?next=%2Fnotifications"


def test_notifications_are_paged_newest_first(client, alice, make_user):
    people = [make_user(f"fan{i:02}") for i in range(25)]
    db.session.add_all(
        Notification(recipient_id=alice.id, actor_id=p.id, kind="follow",
                     created_at=START + timedelta(minutes=i))
        for i, p in enumerate(people)
    )  # fmt: skip
    db.session.commit()
    first = client.get("/notifications")
    assert listed(first) == [f"fan{i:02} followed you" for i in range(24, 4, -1)]
    second = client.get(link(first, "next"))
    assert listed(second) == [f"fan{i:02} followed you" for i in range(4, -1, -1)]
    assert link(second, "next") is None
    assert listed(client.get(link(second, "prev"))) == listed(first)
    assert client.get("/notifications?before=nope").status_code == 400


# The page's rows


def test_a_line_shows_the_start_of_the_post_or_a_link_to_it(client, alice, bob):
    long, short, gone = (
        Post(user_id=alice.id, body=body, created_at=START)
        for body in ("one\n\n  <two> & " + "word " * 40, "plain", "was here")
    )
    db.session.add_all([long, short, gone])
    db.session.flush()
    gone.user_id, gone.body = None, ""  # emptied: deleted with replies
    db.session.add_all(
        Notification(recipient_id=alice.id, actor_id=bob.id, kind="like", post_id=p.id,
                     created_at=START + timedelta(minutes=i))
        for i, p in enumerate([long, short, gone])
    )  # fmt: skip
    db.session.commit()
    html = client.get("/notifications").get_data(as_text=True)
    snippets = re.findall(r'<p class="snippet"><a href="/p/(\d+)">(.*?)</a></p>', html)
    cut = "one &lt;two&gt; &amp; " + ("word " * 40)[: 120 - 1 - len("one <two> & ")].rstrip() + "…"
    assert snippets == [
        (str(gone.id), "See the post"),
        (str(short.id), "plain"),
        (str(long.id), cut),
    ]


def test_the_rows_hold_what_the_orm_loads(client, alice, bob, make_user):
    from microblog.social import notify
    from microblog.social.paging import Window

    carol = make_user("carol", display_name="Carol <C>")
    (post,) = add_posts(alice, 1)
    db.session.add_all([
        Notification(recipient_id=alice.id, actor_id=bob.id, kind="follow", seen=True),
        Notification(recipient_id=alice.id, actor_id=carol.id, kind="like", post_id=post.id),
    ])  # fmt: skip
    db.session.commit()
    rows = notify.load_notifications(alice.id, Window(None, None, 10)).items
    expected = db.session.scalars(
        sa.select(Notification).order_by(Notification.created_at.desc(), Notification.id.desc())
    ).all()
    assert [r.id for r in rows] == [n.id for n in expected] and len(rows) == 2
    for row, item in zip(rows, expected, strict=True):
        for name in ("id", "kind", "post_id", "created_at", "seen"):
            assert getattr(row, name) == getattr(item, name), name
            assert type(getattr(row, name)) is type(getattr(item, name)), name
        assert (row.actor.nickname, row.actor.display_name) == (
            item.actor.nickname,
            item.actor.display_name,
        )
        assert row.post_text == (item.post.body if item.post else None)
