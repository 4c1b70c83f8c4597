"""The API's endpoints, through the real views, on SQLite and PostgreSQL."""

from datetime import timedelta

from microblog.extensions import db
from microblog.social.models import Block, Follow, Like, Notification, Post, PostEdit
from tests.social.helpers import START, add_posts


def test_timeline_lists_followed_and_own_posts_newest_first(api, alice, bob, make_user, token_for):
    carol = make_user("carol")
    db.session.add(Follow(follower_id=alice.id, followed_id=bob.id))
    add_posts(bob, 2, prefix="bob")
    add_posts(carol, 1, prefix="carol")
    add_posts(alice, 1, prefix="alice", start=START + timedelta(hours=1))
    response = api("get", "/timeline", token_for(alice, "read"))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    items = response.json["items"]
    assert [p["body"] for p in items] == ["alice-0", "bob-1", "bob-0"]
    assert items[1]["author"] == {
        "nickname": "bob",
        "display_name": "Bob",
        "url": "http://localhost/u/bob",
    }
    assert items[1]["created_at"] == "2026-01-01T09:01:00Z"
    assert response.json["newer"] is None and response.json["older"] is None


def test_pages_walk_with_the_cursors_like_the_pages_do(app, api, alice, token_for):
    app.config["POSTS_PER_PAGE"] = 3
    add_posts(alice, 7)
    token = token_for(alice, "read")
    first = api("get", "/explore", token).json
    assert [p["body"] for p in first["items"]] == ["post-6", "post-5", "post-4"]
    assert first["newer"] is None
    second = api("get", f"/explore?before={first['older']}", token).json
    assert [p["body"] for p in second["items"]] == ["post-3", "post-2", "post-1"]
    back = api("get", f"/explore?after={second['newer']}", token).json
    assert [p["body"] for p in back["items"]] == ["post-6", "post-5", "post-4"]
    last = api("get", f"/explore?before={second['older']}", token).json
    assert [p["body"] for p in last["items"]] == ["post-0"] and last["older"] is None


def test_a_user_and_their_posts(api, alice, bob, token_for):
    db.session.add(Follow(follower_id=alice.id, followed_id=bob.id))
    add_posts(bob, 2, prefix="bob")
    token = token_for(alice, "read")
    profile = api("get", "/users/BOB", token).json
    assert profile["nickname"] == "bob" and profile["posts"] == 2
    assert profile["followers"] == 1 and profile["you_follow"] is True
    posts = api("get", "/users/bob/posts", token).json["items"]
    assert [p["body"] for p in posts] == ["bob-1", "bob-0"]
    missing = api("get", "/users/nobody", token)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_a_post_with_its_thread(api, alice, bob, token_for):
    (root,) = add_posts(alice, 1, prefix="root")
    reply = Post(user_id=bob.id, body="reply", reply_to_id=root.id, created_at=START)
    db.session.add(reply)
    db.session.flush()
    db.session.add(Post(user_id=alice.id, body="answer", reply_to_id=reply.id,
                        created_at=START + timedelta(minutes=1)))  # fmt: skip
    db.session.commit()
    token = token_for(alice, "read")
    thread = api("get", f"/posts/{reply.id}", token).json
    assert thread["post"]["body"] == "reply" and thread["post"]["reply_to"] == root.id
    assert [p["body"] for p in thread["ancestors"]] == ["root-0"]
    assert [p["body"] for p in thread["replies"]["items"]] == ["answer"]
    assert thread["post"]["reply_count"] == 1
    assert api("get", "/posts/999999", token).status_code == 404


def test_create_edit_and_delete_a_post(api, alice, token_for):
    token = token_for(alice)
    created = api("post", "/posts", token, json={"body": "  Hello @alice  "})
    assert created.status_code == 201
    post_id = created.json["id"]
    assert created.headers["Location"] == f"/api/v1/posts/{post_id}"
    assert created.json["body"] == "Hello @alice"
    edited = api("patch", f"/posts/{post_id}", token, json={"body": "Hello again"})
    assert edited.status_code == 200 and edited.json["body"] == "Hello again"
    assert edited.json["edited_at"] is not None
    assert db.session.query(PostEdit).filter_by(post_id=post_id).one().body == "Hello @alice"
    assert api("delete", f"/posts/{post_id}", token).status_code == 204
    assert db.session.get(Post, post_id) is None
    assert api("delete", f"/posts/{post_id}", token).status_code == 404


def test_only_the_author_edits_or_deletes(api, alice, bob, token_for):
    (post,) = add_posts(bob, 1)
    token = token_for(alice)
    assert api("patch", f"/posts/{post.id}", token, json={"body": "mine now"}).status_code == 404
    assert api("delete", f"/posts/{post.id}", token).status_code == 404
    db.session.expire_all()
    assert db.session.get(Post, post.id).body == "post-0"


def test_reply_like_and_unlike_notify_the_author(api, alice, bob, token_for):
    (post,) = add_posts(bob, 1)
    token = token_for(alice)
    reply = api("post", f"/posts/{post.id}/replies", token, json={"body": "nice"})
    assert reply.status_code == 201 and reply.json["reply_to"] == post.id
    assert api("put", f"/posts/{post.id}/like", token).status_code == 204
    assert api("put", f"/posts/{post.id}/like", token).status_code == 204  # again: harmless
    assert db.session.query(Like).filter_by(post_id=post.id).count() == 1
    kinds = {n.kind for n in db.session.query(Notification).filter_by(recipient_id=bob.id)}
    assert kinds == {"reply", "like"}
    bobs = api("get", "/notifications", token_for(bob, "read")).json["items"]
    assert [n["kind"] for n in bobs] == ["like", "reply"]
    assert bobs[0]["actor"]["nickname"] == "alice" and bobs[0]["post"] == post.id
    assert api("delete", f"/posts/{post.id}/like", token).status_code == 204
    assert db.session.query(Like).filter_by(post_id=post.id).count() == 0


def test_follow_and_unfollow(api, alice, bob, token_for):
    token = token_for(alice)
    assert api("put", "/users/bob/follow", token).status_code == 204
    assert db.session.get(Follow, (alice.id, bob.id)) is not None
    assert api("delete", "/users/bob/follow", token).status_code == 204
    assert db.session.get(Follow, (alice.id, bob.id)) is None
    itself = api("put", "/users/alice/follow", token)
    assert itself.status_code == 422 and "yourself" in itself.json["detail"]


def test_blocks_refuse_replies_likes_and_follows(api, alice, bob, token_for):
    (post,) = add_posts(bob, 1)
    db.session.add(Block(blocker_id=bob.id, blocked_id=alice.id))
    db.session.commit()
    token = token_for(alice)
    for method, path, body in [
        ("post", f"/posts/{post.id}/replies", {"body": "hi"}),
        ("put", f"/posts/{post.id}/like", None),
        ("put", "/users/bob/follow", None),
    ]:
        response = api(method, path, token, json=body)
        assert response.status_code == 403, path
        assert response.json["type"].endswith("/blocked")
    assert db.session.query(Post).count() == 1
    assert api("get", "/users/bob/posts", token).json["items"] == []


def test_bad_post_bodies_are_explained(api, alice, token_for):
    token = token_for(alice)
    for body, status in [
        ({"body": ""}, 422),
        ({"body": "x" * 281}, 422),
        ({"body": 5}, 422),
        ([1, 2], 422),
        ({}, 422),
    ]:
        response = api("post", "/posts", token, json=body)
        assert response.status_code == status, body
        assert response.mimetype == "application/problem+json"
        assert response.json["errors"]["body"]
    not_json = api("post", "/posts", token, data="body=hi")
    assert not_json.status_code == 415
    broken = api("post", "/posts", token, data="{", content_type="application/json")
    assert broken.status_code == 422
    assert db.session.query(Post).count() == 0


def test_a_read_token_cannot_write(api, alice, token_for):
    token = token_for(alice, "read")
    response = api("post", "/posts", token, json={"body": "hi"})
    assert response.status_code == 403
    assert response.json["scope"] == "read write"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert db.session.query(Post).count() == 0


def test_a_broken_cursor_is_a_400_problem(api, alice, token_for):
    response = api("get", "/explore?before=%00%ff", token_for(alice, "read"))
    assert response.status_code == 400
    assert "page link is broken" in response.json["detail"]
