"""Your data: one JSON file with everything the site holds about a person, and no secrets."""

import json

import sqlalchemy as sa

from microblog.extensions import db
from microblog.identity.models import Identity, SignIn, UserSession
from microblog.social.models import Block, Follow, Like, Mute, Post

from .helpers import START, send


def download(client):
    response = client.get("/settings/your-data.json")
    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    return response, json.loads(response.get_data(as_text=True))


def test_settings_links_to_the_download(client, alice):
    html = client.get("/settings").get_data(as_text=True)
    assert '<a class="button secondary" href="/settings/your-data.json" download>' in html


def test_visitors_are_sent_to_sign_in(client):
    response = client.get("/settings/your-data.json")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_file_holds_everything_about_the_person(client, alice, make_user):
    bob, carol, dave = make_user("bob"), make_user("carol"), make_user("dave")
    alice.display_name, alice.about = "Alice A.", "About me"
    db.session.add(Identity(user_id=alice.id, provider="google", subject="g-123", email="a@x.org"))
    db.session.add(SignIn(user_id=alice.id, provider="google", ip_address="192.0.2.1"))
    db.session.commit()
    send(client, "/", body="First #Post")
    first = db.session.scalars(sa.select(Post).where(Post.user_id == alice.id)).one()
    send(client, f"/p/{first.id}/edit", body="First #post, edited")
    send(client, f"/p/{first.id}/edit", body="First #post, edited twice")
    bobs = Post(user_id=bob.id, body="bob's post", created_at=START)
    db.session.add(bobs)
    db.session.commit()
    send(client, f"/p/{bobs.id}/reply", body="a reply")
    db.session.add_all(
        [
            Follow(follower_id=alice.id, followed_id=bob.id),
            Follow(follower_id=carol.id, followed_id=alice.id),
            Like(post_id=bobs.id, user_id=alice.id),
            Block(blocker_id=alice.id, blocked_id=dave.id),
            Mute(muter_id=alice.id, muted_id=carol.id),
        ]
    )
    db.session.commit()
    response, data = download(client)
    name = response.headers["Content-Disposition"]
    assert name.startswith('attachment; filename="microblog-alice-') and name.endswith('.json"')
    assert data["format"] == "microblog-export/1"
    profile = data["profile"]
    assert profile["nickname"] == "alice"
    assert profile["display_name"] == "Alice A."
    assert profile["about"] == "About me"
    assert profile["email"] == alice.email
    assert profile["url"] == "http://localhost/u/alice"
    posts = data["posts"]
    assert [p["body"] for p in posts] == ["First #post, edited twice", "a reply"]
    assert posts[0]["tags"] == ["post"]
    assert [v["body"] for v in posts[0]["earlier_versions"]] == [
        "First #Post",
        "First #post, edited",
    ]
    assert posts[0]["edited_at"] is not None
    assert posts[1]["reply_to"] == bobs.id
    assert posts[1]["url"] == f"http://localhost/p/{posts[1]['id']}"
    assert [p["nickname"] for p in data["following"]] == ["bob"]
    assert [p["nickname"] for p in data["followers"]] == ["carol"]
    assert data["likes"] == [
        {
            "post": f"http://localhost/p/{bobs.id}",
            "author": "bob",
            "liked_at": data["likes"][0]["liked_at"],
        }
    ]
    assert [p["nickname"] for p in data["blocks"]] == ["dave"]
    assert [p["nickname"] for p in data["mutes"]] == ["carol"]
    (method,) = data["sign_in_methods"]
    assert method["provider"] == "google"
    assert method["account_at_provider"] == "g-123"
    assert method["email"] == "a@x.org"
    assert [s["ip_address"] for s in data["recent_sign_ins"]] == ["192.0.2.1"]


def test_no_secrets_and_no_one_elses_posts(client, alice, make_user):
    bob = make_user("bob")
    db.session.add(Post(user_id=bob.id, body="bob's own words", created_at=START))
    db.session.commit()
    with client.session_transaction() as session:
        cookie_values = [str(v) for v in session.values()]
    text = download(client)[0].get_data(as_text=True)
    hashes = db.session.scalars(sa.select(UserSession.secret_hash)).all()
    assert hashes and not any(h in text for h in hashes)  # nor the sessions' stored secrets
    assert "secret_hash" not in text and "id_token" not in text
    assert "bob's own words" not in text
    assert "test-secret-key" not in text
    assert "client-secret" not in text  # providers.test.toml's
    for value in cookie_values:
        assert value not in text


def test_an_account_with_nothing_yet(client, alice):
    data = download(client)[1]
    for key in ("posts", "following", "followers", "likes", "blocks", "mutes"):
        assert data[key] == []
