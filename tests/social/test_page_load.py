"""What every signed-in page costs: one statement for the person (their unread count in it),
a CSRF token signed once per session, and the same page as before for both."""

import re
import time

import pytest

from microblog import create_app
from microblog.extensions import db, limiter
from microblog.social.models import Block, Mute, Notification
from tests.helpers import base_config, csrf_token, sign_in_as
from tests.social.helpers import add_posts, send


def badge(client, path="/explore"):
    """The unread count the navigation shows, or None."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'Notifications <span class="badge">(\d+)<', html)
    return match and int(match.group(1))


def test_a_signed_in_page_loads_the_person_and_the_count_in_one_statement(
    client, alice, make_user, statements
):
    bob = make_user("bob")
    add_posts(bob, 3)
    db.session.add(Notification(recipient_id=alice.id, actor_id=bob.id, kind="follow"))
    db.session.commit()
    client.get("/explore")  # warm: nothing below may be a first-time cost
    statements.clear()
    assert badge(client) == 1
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == len(statements) == 2  # the session record (with the count), the posts
    assert "user_session" in selects[0] and "notification" in selects[0]


@pytest.mark.parametrize("relation", [Block, Mute])
def test_the_count_leaves_out_those_one_shut_out(client, alice, make_user, relation):
    bob, carol = make_user("bob"), make_user("carol")
    for actor in (bob, carol):
        db.session.add(Notification(recipient_id=alice.id, actor_id=actor.id, kind="follow"))
    db.session.add(Notification(recipient_id=carol.id, actor_id=bob.id, kind="follow"))
    db.session.commit()
    assert badge(client) == 2
    if relation is Block:
        db.session.add(Block(blocker_id=alice.id, blocked_id=bob.id))
    else:
        db.session.add(Mute(muter_id=alice.id, muted_id=bob.id))
    db.session.commit()
    assert badge(client) == 1
    assert badge(client, "/notifications") is None  # seen now
    assert badge(client) is None


def test_a_csrf_token_is_signed_once_per_session_and_works(client, alice, app, make_user):
    (post,) = add_posts(make_user("bob"), 1)
    first, again = csrf_token(client, "/explore"), csrf_token(client, "/")
    assert first == again
    assert first in app.extensions["signed_csrf_tokens"].values()  # kept, not signed again
    other = app.test_client()
    sign_in_as(other, make_user("carol"))
    assert csrf_token(other, "/explore") != first
    response = client.post(f"/p/{post.id}/like", data={"csrf_token": first})
    assert response.status_code == 302
    response = send(client, f"/p/{post.id}/unlike")
    assert response.status_code == 302
    refused = client.post(f"/p/{post.id}/like", data={"csrf_token": csrf_token(other, "/")})
    assert refused.status_code == 400


def test_pages_are_limited_when_the_operator_limits_every_page(database_url):
    """The limiter skips reading pages only while no limit applies to them."""
    config = base_config(database_url, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2/minute")
    app = create_app(config)
    client = app.test_client()
    assert [client.get("/explore").status_code for _ in range(3)] == [200, 200, 429]
    unlimited = create_app(base_config(database_url, RATELIMIT_ENABLED=True))
    client = unlimited.test_client()
    assert [client.get("/explore").status_code for _ in range(3)] == [200] * 3
    for each in (app, unlimited):
        with each.app_context():
            db.engine.dispose()


def test_a_page_the_limiter_skips_costs_it_no_lookup(database_url, monkeypatch):
    """extensions.Limiter asks the request filters first: an exempt page looks up nothing of
    the limiter's (Flask-Limiter's own way still weighs its exemptions), every other page does."""
    app = create_app(base_config(database_url, RATELIMIT_ENABLED=True))
    manager = limiter.limit_manager
    looked_up = []
    scope = manager.exemption_scope

    def spy(*args, **kwargs):
        looked_up.append(args[1])  # the endpoint
        return scope(*args, **kwargs)

    monkeypatch.setattr(manager, "exemption_scope", spy)
    client = app.test_client()
    assert client.get("/explore").status_code == 200
    assert looked_up == []
    assert client.get("/login").status_code == 200
    assert looked_up and set(looked_up) == {"auth.login"}
    with app.app_context():
        db.engine.dispose()


def test_a_verified_session_cookie_is_not_verified_again_but_still_checked(
    app, client, alice, monkeypatch
):
    """Kept by its whole signed value: a changed cookie is checked afresh, an old one expires."""
    client.get("/explore")  # the first page adds a CSRF token to the cookie
    cookie = client.get_cookie("session").value
    assert "alice" in client.get("/explore").get_data(as_text=True)
    assert client.get_cookie("session").value == cookie
    seen = app.extensions["sessions_seen"]
    assert cookie in seen
    payload, _, signature = cookie.rpartition(".")
    forged = app.test_client()
    forged.set_cookie("session", payload + "." + signature[::-1])
    assert "alice" not in forged.get("/explore").get_data(as_text=True)
    later = time.time() + app.permanent_session_lifetime.total_seconds() + 10
    monkeypatch.setattr(time, "time", lambda: later)
    assert "alice" not in client.get("/explore").get_data(as_text=True)  # too old now


def test_a_session_with_flashes_is_not_kept(app, client, alice, make_user):
    (post,) = add_posts(make_user("bob"), 1)
    response = send(client, "/", body="hello")
    assert response.status_code == 302
    cookie = client.get_cookie("session").value
    assert cookie not in app.extensions["sessions_seen"]  # it holds a list: the flashed message
    assert "Your post is published." in client.get("/").get_data(as_text=True)


def test_a_visitor_without_a_cookie_gets_an_empty_session_without_a_serializer(app, monkeypatch):
    """Signing serializers are built for cookies to read or to write, not for every visitor."""
    built: list[bool] = []
    interface = app.session_interface
    make = type(interface).get_signing_serializer
    monkeypatch.setattr(
        interface, "get_signing_serializer", lambda a: built.append(True) or make(interface, a)
    )
    visitor = app.test_client()
    assert visitor.get("/explore").status_code == 200  # it puts nothing in the session
    assert built == [] and visitor.get_cookie("session") is None
    assert visitor.get("/login").status_code == 200  # the sign-in page stores a CSRF token
    assert built == [True] and visitor.get_cookie("session") is not None
    assert visitor.get("/login").status_code == 200  # the cookie, read back: kept as verified
