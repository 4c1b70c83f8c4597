"""Followers and following lists, and block and mute."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.social.models import Block, Follow, Mute
from tests.helpers import csrf_token
from tests.social.helpers import START, add_posts, bodies, follows, link, send


def names(response):
    html = response.get_data(as_text=True)
    return re.findall(
        r'<li class="card person-card">.*?<span class="nickname">@(\w+)</span>', html, re.S
    )


@pytest.fixture
def bob(make_user):
    return make_user("bob")


# Lists


def test_profile_counts_link_to_the_lists(client, bob, make_user):
    carol = make_user("carol", display_name="Carol C")
    db.session.add_all([Follow(follower_id=carol.id, followed_id=bob.id),
                        Follow(follower_id=bob.id, followed_id=carol.id)])  # fmt: skip
    db.session.commit()
    html = client.get("/u/bob").get_data(as_text=True)
    assert '<a href="/u/bob/followers"><strong>1</strong> follower</a>' in html
    assert '<a href="/u/bob/following"><strong>1</strong> following</a>' in html
    followers = client.get("/u/bob/followers")
    assert followers.status_code == 200 and names(followers) == ["carol"]
    assert "Carol C" in followers.get_data(as_text=True)
    assert names(client.get("/u/BOB/following")) == ["carol"]
    assert client.get("/u/nobody/followers").status_code == 404
    assert client.get("/u/bob/friends").status_code == 404


def test_empty_lists_say_so(client, bob):
    assert "No one follows bob yet." in client.get("/u/bob/followers").get_data(as_text=True)
    assert "bob follows no one yet." in client.get("/u/bob/following").get_data(as_text=True)


@pytest.mark.parametrize("direction", ["followers", "following"])
def test_lists_are_paged_latest_first(client, bob, make_user, direction):
    people = [make_user(f"p{i:02}") for i in range(25)]
    for i, p in enumerate(people):
        pair = (p.id, bob.id) if direction == "followers" else (bob.id, p.id)
        db.session.add(Follow(follower_id=pair[0], followed_id=pair[1],
                              created_at=START + timedelta(minutes=i // 2)))  # fmt: skip
    db.session.commit()
    first = client.get(f"/u/bob/{direction}")
    second = client.get(link(first, "next"))
    shown = names(first) + names(second)
    assert len(names(first)) == 20 and link(second, "next") is None
    # Two follows a minute: the person's id breaks the tie, and no one is lost or repeated.
    order = sorted(enumerate(people), key=lambda ip: (ip[0] // 2, ip[1].id), reverse=True)
    assert shown == [p.nickname for _, p in order]
    assert names(client.get(link(second, "prev"))) == names(first)
    assert client.get(f"/u/bob/{direction}?after=x").status_code == 400


# Block


def test_block_ends_follows_both_ways_and_stops_new_ones(client, alice, bob, sign_in):
    db.session.add_all([Follow(follower_id=alice.id, followed_id=bob.id),
                        Follow(follower_id=bob.id, followed_id=alice.id)])  # fmt: skip
    db.session.commit()
    response = send(client, "/u/bob/block")
    assert response.headers["Location"] == "/u/bob"
    assert "You blocked bob." in client.get("/u/bob").get_data(as_text=True)
    assert not follows(alice, bob) and not follows(bob, alice)
    send(client, "/u/bob/follow")
    assert not follows(alice, bob)
    sign_in(bob)
    send(client, "/u/alice/follow")
    assert not follows(bob, alice)
    assert "one of you blocked the other" in client.get("/u/alice").get_data(as_text=True)


def test_blocked_people_do_not_see_each_other(client, alice, bob, sign_in, make_user):
    add_posts(bob, 1, prefix="bob")
    add_posts(alice, 1, start=START + timedelta(hours=1), prefix="alice")
    send(client, "/u/bob/block")
    assert bodies(client.get("/explore")) == ["alice-0"]
    html = client.get("/u/bob").get_data(as_text=True)
    assert "You blocked bob" in html and "bob-0" not in html
    assert 'action="/u/bob/unblock"' in html and 'action="/u/bob/follow"' not in html
    sign_in(bob)
    assert bodies(client.get("/explore")) == ["bob-0"]
    assert "alice blocked you" in client.get("/u/alice").get_data(as_text=True)
    sign_in(make_user("carol"))  # everyone else sees both
    assert bodies(client.get("/explore")) == ["alice-0", "bob-0"]


def test_unblock(client, alice, bob):
    add_posts(bob, 1, prefix="bob")
    send(client, "/u/bob/block")
    send(client, "/u/bob/unblock")
    assert bodies(client.get("/explore")) == ["bob-0"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Block)) == 0
    assert not follows(alice, bob)  # the follow that ended stays ended


@pytest.mark.parametrize("action", ["block", "mute"])
def test_one_cannot_block_or_mute_oneself(client, alice, action):
    send(client, f"/u/alice/{action}")
    assert f"You cannot {action} yourself." in client.get("/u/alice").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Block)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Mute)) == 0


@pytest.mark.parametrize("action", ["block", "unblock", "mute", "unmute"])
def test_block_and_mute_need_sign_in_csrf_and_a_person(client, make_user, action, sign_in):
    bob = make_user("bob")
    signed_out = client.post(f"/u/bob/{action}", data={"csrf_token": csrf_token(client)})
    assert signed_out.headers["Location"].startswith("/login?next=")
    sign_in(make_user("alice"))
    assert client.post(f"/u/bob/{action}").status_code == 400  # no CSRF token
    assert send(client, f"/u/nobody/{action}").status_code == 404
    assert bob


# Mute


def test_mute_hides_their_posts_from_me_only(client, alice, bob, sign_in):
    db.session.add(Follow(follower_id=alice.id, followed_id=bob.id))
    db.session.commit()
    add_posts(bob, 1, prefix="bob")
    send(client, "/u/bob/mute")
    assert "You muted bob." in client.get("/u/bob").get_data(as_text=True)
    assert bodies(client.get("/")) == [] and bodies(client.get("/explore")) == []
    assert follows(alice, bob)  # nothing changes for them
    sign_in(bob)
    assert bodies(client.get("/explore")) == ["bob-0"]
    assert 'action="/u/alice/follow"' in client.get("/u/alice").get_data(as_text=True)
    sign_in(alice)
    send(client, "/u/bob/unmute")
    assert bodies(client.get("/")) == ["bob-0"]


def test_muting_twice_is_harmless(client, alice, bob):
    send(client, "/u/bob/mute")
    send(client, "/u/bob/mute")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Mute)) == 1
