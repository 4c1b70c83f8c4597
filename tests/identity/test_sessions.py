"""Sessions are records: signing in makes one, cookies name it, ending it ends them everywhere."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from microblog import create_app
from microblog.extensions import db
from microblog.identity.models import UserSession
from microblog.models import utcnow
from microblog.testing import IsolatedClient
from tests.helpers import csrf_token

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


def records() -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(UserSession).order_by(UserSession.id)))


def browser(app, user_agent: str = FIREFOX):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


def signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


def post(client, path: str, **data: str):
    return client.post(path, data={"csrf_token": csrf_token(client, "/settings"), **data})


def test_a_sign_in_makes_a_record_the_cookie_names_with_its_secret_hashed(app, fake_idp):
    client = browser(app)
    fake_idp.sign_in(client, provider="company", remember=True)
    [record] = records()
    assert (record.provider, record.device) == ("company", "Firefox on Linux")
    assert record.remember
    assert record.subject == record.user.identities[0].subject
    assert record.expires_at - record.created_at == app.config["REMEMBER_COOKIE_DURATION"]
    with client.session_transaction() as s:
        record_id, secret = s["_user_id"].split(":")
    assert int(record_id) == record.id
    assert record.secret_hash == hashlib.sha256(secret.encode()).hexdigest() != secret


def test_signing_out_ends_this_browser_only_and_every_copy_of_its_cookies(app, fake_idp):
    laptop, phone = browser(app), browser(app, IPHONE)
    fake_idp.sign_in(laptop, remember=True)
    fake_idp.sign_in(phone)
    copied_session = laptop.get_cookie("session").value
    copied_remember = laptop.get_cookie("remember_token").value
    post(laptop, "/logout")
    assert not signed_in(laptop)
    assert signed_in(phone)
    assert [r.device for r in records()] == ["Safari on iOS"]
    for name, value in [("session", copied_session), ("remember_token", copied_remember)]:
        thief = app.test_client()
        thief.set_cookie(name, value)
        assert not signed_in(thief)


def test_signing_out_everywhere_ends_every_session(app, fake_idp):
    laptop, phone = browser(app), browser(app, IPHONE)
    fake_idp.sign_in(laptop)
    fake_idp.sign_in(phone, remember=True)
    resp = post(laptop, "/logout", everywhere="1")
    assert resp.headers["Location"] == "/login"
    assert not signed_in(laptop) and not signed_in(phone)
    phone.delete_cookie("session")  # the remember cookie alone does not sign it back in
    assert not signed_in(phone)
    assert records() == []


def test_the_sign_out_page_offers_this_browser_and_everywhere(app, fake_idp):
    client = browser(app)
    fake_idp.sign_in(client)
    html = client.get("/logout").get_data(as_text=True)
    assert "This signs you out in this browser." in html
    assert 'name="everywhere" value="1"' in html and "Sign out everywhere</button>" in html


def test_settings_lists_where_you_are_signed_in_this_browser_marked(app, fake_idp):
    laptop, phone = browser(app), browser(app, IPHONE)
    fake_idp.sign_in(phone, provider="github")
    fake_idp.sign_in(laptop, provider="google")
    html = laptop.get("/settings").get_data(as_text=True)
    section = html[html.index("Where you're signed in") : html.index("Recent sign-ins")]
    items = re.findall(r"<li.*?</li>", section, re.S)
    assert len(items) == 2
    assert 'aria-current="true"' in items[0] and "Firefox on Linux" in items[0]
    assert "This browser" in items[0] and "with Google" in items[0]
    assert "Safari on iOS" in items[1] and "with GitHub" in items[1]
    assert "This browser" not in items[1]
    assert "Sign out everywhere else</button>" in section


def test_sign_out_one_session_from_settings(app, fake_idp):
    laptop, phone = browser(app), browser(app, IPHONE)
    fake_idp.sign_in(laptop)
    fake_idp.sign_in(phone)
    phone_record = next(r for r in records() if r.device == "Safari on iOS")
    resp = post(laptop, f"/settings/sessions/{phone_record.id}/end")
    assert resp.headers["Location"] == "/settings"
    assert "That session is signed out." in laptop.get("/settings").get_data(as_text=True)
    assert signed_in(laptop) and not signed_in(phone)


def test_signing_this_browser_out_from_settings(app, fake_idp):
    client = browser(app)
    fake_idp.sign_in(client)
    [record] = records()
    resp = post(client, f"/settings/sessions/{record.id}/end")
    assert resp.headers["Location"] == "/login"
    assert not signed_in(client) and records() == []


def test_sign_out_everywhere_else_keeps_this_browser(app, fake_idp):
    laptop, phone, tablet = browser(app), browser(app, IPHONE), browser(app)
    for client in (laptop, phone, tablet):
        fake_idp.sign_in(client)
    post(laptop, "/settings/sessions/end-others")
    assert "Signed out 2 other sessions" in laptop.get("/settings").get_data(as_text=True)
    assert signed_in(laptop) and not signed_in(phone) and not signed_in(tablet)
    assert len(records()) == 1


def test_someone_elses_session_cannot_be_ended(app, fake_idp):
    ann, bob = browser(app), browser(app)
    fake_idp.sign_in(ann, email="ann@example.org")
    fake_idp.sign_in(bob, email="bob@example.org")
    bobs = next(r for r in records() if r.user.email == "bob@example.org")
    assert post(ann, f"/settings/sessions/{bobs.id}/end").status_code == 404
    assert signed_in(bob)


def test_ending_a_session_needs_post_and_csrf(app, fake_idp):
    client = browser(app)
    fake_idp.sign_in(client)
    [record] = records()
    assert client.get(f"/settings/sessions/{record.id}/end").status_code == 405
    assert client.post(f"/settings/sessions/{record.id}/end").status_code == 400
    assert client.post("/settings/sessions/end-others").status_code == 400
    assert signed_in(client)


@pytest.mark.parametrize("remember", [False, True])
def test_an_idle_session_ends(app, fake_idp, remember):
    client = browser(app)
    fake_idp.sign_in(client, remember=remember)
    [record] = records()
    idle = app.config["REMEMBERED_IDLE_TIMEOUT" if remember else "SESSION_IDLE_TIMEOUT"]
    record.last_active_at = utcnow() - idle + timedelta(minutes=1)
    db.session.commit()
    assert signed_in(client)  # still inside the idle limit, and the visit counts as activity
    [record] = records()
    record.last_active_at = utcnow() - idle - timedelta(seconds=1)
    db.session.commit()
    assert not signed_in(client)
    client.delete_cookie("session")
    assert not signed_in(client)  # nor does the remember cookie revive it
    assert records() == []


@pytest.mark.parametrize("remember", [False, True])
def test_a_session_ends_at_its_absolute_expiry_however_active(app, fake_idp, remember):
    client = browser(app)
    fake_idp.sign_in(client, remember=remember)
    [record] = records()
    lifetime = app.config["REMEMBER_COOKIE_DURATION" if remember else "SESSION_LIFETIME"]
    assert record.expires_at - record.created_at == lifetime
    record.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert not signed_in(client)


def test_last_active_is_written_at_most_every_few_minutes(app, fake_idp):
    client = browser(app)
    fake_idp.sign_in(client)
    [record] = records()
    first = record.last_active_at
    updates = []
    sa.event.listen(
        db.engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *a: (
            updates.append(statement) if statement.startswith("UPDATE user_session") else None
        ),
    )
    for _ in range(3):
        assert client.get("/").status_code == 200
    assert updates == [] and records()[0].last_active_at == first
    [record] = records()
    record.last_active_at = first - app.config["SESSION_ACTIVITY_INTERVAL"]
    db.session.commit()
    updates.clear()  # the test's own UPDATE
    client.get("/")
    client.get("/")
    assert len(updates) == 1
    assert records()[0].last_active_at > first


def test_a_session_ended_on_one_server_stops_working_on_another(app, app_config, fake_idp):
    other_server = create_app(app_config)  # same database, another process's memory
    other_server.test_client_class = IsolatedClient
    client = browser(app)
    fake_idp.sign_in(client, remember=True)
    copy = other_server.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    try:
        assert signed_in(copy)
        post(client, "/logout")
        assert not signed_in(copy)
    finally:
        with other_server.app_context():
            db.engine.dispose()


@pytest.mark.parametrize(
    "cookie_id", ["99999999999999999999:x", "1:", ":abc", "١:x", "abc", "1:wrong-secret"]
)
def test_a_forged_or_malformed_session_id_signs_no_one_in(app, fake_idp, cookie_id):
    fake_idp.sign_in(browser(app))
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = cookie_id
    assert client.get("/settings").status_code == 302
    assert len(records()) == 1


def test_deleting_the_account_ends_its_sessions(app, fake_idp):
    laptop, phone = browser(app), browser(app, IPHONE)
    fake_idp.sign_in(laptop)
    fake_idp.sign_in(phone)
    post(laptop, "/settings/delete", confirm="ann")
    assert records() == []
    assert not signed_in(phone)


def test_device_names(app):
    from microblog.identity.sessions import device_name

    assert device_name(FIREFOX) == "Firefox on Linux"
    assert device_name(IPHONE) == "Safari on iOS"
    edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36 Edg/131.0"
    assert device_name(edge) == "Edge on Windows"
    assert device_name("") == "Unknown device"
    assert device_name("curl/8.5") == "curl/8.5"
