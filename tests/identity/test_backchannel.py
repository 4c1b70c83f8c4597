"""Back-Channel Logout 1.0: a provider ends our sessions with a signed logout token."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.identity.models import SeenLogoutToken, UserSession
from microblog.testing.logout import logout_token
from microblog.testing.tokens import new_key

SUB = "g-ann"


def records() -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(UserSession).order_by(UserSession.id)))


def signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


@pytest.fixture
def two_browsers(app, fake_idp):
    """Ann signed in with Google in two browsers (provider sessions s-1, s-2), and with
    Company SSO (same provider subject) in a third."""
    laptop, phone, work = app.test_client(), app.test_client(), app.test_client()
    fake_idp.sign_in(laptop, provider="google", sub=SUB, sid="s-1")
    fake_idp.sign_in(phone, provider="google", sub=SUB, sid="s-2")
    fake_idp.sign_in(work, provider="company", sub=SUB, sid="s-1")
    return laptop, phone, work


def test_the_sign_in_records_the_providers_sid(app, fake_idp, two_browsers):
    assert [(r.provider, r.sid) for r in records()] == [
        ("google", "s-1"),
        ("google", "s-2"),
        ("company", "s-1"),
    ]


def test_a_logout_token_with_a_sid_ends_that_session_only(app, fake_idp, two_browsers):
    laptop, phone, work = two_browsers
    resp = fake_idp.backchannel_logout(app, "google", sub=SUB, sid="s-1")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in resp.headers  # no session written
    assert not signed_in(laptop) and signed_in(phone) and signed_in(work)


def test_a_logout_token_with_only_a_sid(app, fake_idp, two_browsers):
    laptop, phone, work = two_browsers
    assert fake_idp.backchannel_logout(app, "google", sid="s-2").status_code == 200
    assert signed_in(laptop) and not signed_in(phone) and signed_in(work)


def test_a_logout_token_with_only_a_sub_ends_every_session_of_that_identity(
    app, fake_idp, two_browsers
):
    laptop, phone, work = two_browsers
    assert fake_idp.backchannel_logout(app, "google", sub=SUB).status_code == 200
    assert not signed_in(laptop) and not signed_in(phone)
    assert signed_in(work)  # another provider's session: not Google's to end


def test_a_remembered_session_ends_too(app, fake_idp):
    client = app.test_client()
    fake_idp.sign_in(client, provider="google", sub=SUB, remember=True)
    fake_idp.backchannel_logout(client, "google", sub=SUB)
    client.delete_cookie("session")
    assert not signed_in(client)


def test_an_unknown_sub_or_sid_is_still_a_200_that_ends_nothing(app, fake_idp, two_browsers):
    assert fake_idp.backchannel_logout(app, "google", sub="someone-else").status_code == 200
    assert fake_idp.backchannel_logout(app, "google", sid="s-9").status_code == 200
    assert len(records()) == 3


# Every way a logout token must be refused: 400, and every session lives on.
BAD_TOKENS = {
    "alg none": {"alg": "none"},
    "alg HS256 with our client secret": {"alg": "HS256"},
    "alg the provider is not allowed": {"alg": "RS384"},
    "wrong aud": {"aud": "someone-else"},
    "aud missing": {"aud": None},
    "wrong iss": {"iss": "https://evil.example.com"},
    "iss missing": {"iss": None},
    "no events": {"events": None},
    "events not an object": {"events": ["http://schemas.openid.net/event/backchannel-logout"]},
    "wrong event": {"events": {"http://schemas.openid.net/event/other": {}}},
    "event not an object": {"events": {"http://schemas.openid.net/event/backchannel-logout": 1}},
    "with nonce": {"nonce": "n-1"},
    "no jti": {"jti": None},
    "no iat": {"iat": None},
    "iat in the future": {"iat": int(time.time()) + 3600},
    "iat long ago": {"iat": int(time.time()) - 3600, "exp": int(time.time()) + 60},
    "expired": {"exp": int(time.time()) - 3600},
    "neither sub nor sid": {"sub": None, "sid": None},
    "sub not a string": {"sub": 12345},
}


@pytest.mark.parametrize("bent", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_a_bad_logout_token_is_a_400_that_ends_nothing(app, fake_idp, two_browsers, bent):
    laptop, phone, work = two_browsers
    changes = {"sub": SUB, "sid": "s-1", **bent}
    sub, sid = changes.pop("sub"), changes.pop("sid")
    resp = fake_idp.backchannel_logout(app, "google", sub=sub, sid=sid, **changes)
    assert resp.status_code == 400
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.get_json()["error"] == "invalid_request"
    assert len(records()) == 3 and signed_in(laptop)


def test_a_replayed_jti_is_refused(app, fake_idp, two_browsers):
    laptop, phone, work = two_browsers
    assert fake_idp.backchannel_logout(app, "google", sid="s-1", jti="jti-1").status_code == 200
    fake_idp.sign_in(laptop, provider="google", sub=SUB, sid="s-1")  # signs in again
    resp = fake_idp.backchannel_logout(app, "google", sid="s-1", jti="jti-1")
    assert resp.status_code == 400
    assert signed_in(laptop)
    # The same jti from another provider is another token.
    assert fake_idp.backchannel_logout(app, "company", sid="s-1", jti="jti-1").status_code == 200


def test_seen_jtis_are_kept_in_the_database_until_they_could_not_pass_anyway(app, fake_idp):
    fake_idp.backchannel_logout(app, "google", sub=SUB, jti="jti-1")
    [seen] = db.session.scalars(sa.select(SeenLogoutToken))
    assert (seen.provider, seen.jti) == ("google", "jti-1")
    assert 0 < seen.expires_at.timestamp() - time.time() <= 300 + 60 + 1


def test_a_token_signed_by_someone_elses_key_is_refused(app, fake_idp, two_browsers):
    resp = fake_idp.backchannel_logout(app, "google", sid="s-1", key=new_key())
    assert resp.status_code == 400
    assert len(records()) == 3


def test_after_key_rotation_the_new_key_is_fetched(app, fake_idp, two_browsers):
    fake_idp.rotate_keys()
    assert fake_idp.backchannel_logout(app, "google", sid="s-1").status_code == 200
    assert len(records()) == 2


@pytest.mark.parametrize("raw", ["", "not-a-jwt", "a.b.c", "x" * 5000])
def test_garbage_is_a_400(app, raw):
    resp = app.test_client().post("/auth/google/backchannel-logout", data={"logout_token": raw})
    assert resp.status_code == 400 and resp.headers["Cache-Control"] == "no-store"


def test_no_csrf_token_or_cookie_is_needed_but_only_post(app, fake_idp):
    assert app.test_client().get("/auth/google/backchannel-logout").status_code == 405


@pytest.mark.parametrize("provider", ["github", "plain", "nope"])
def test_only_openid_providers_have_the_endpoint(app, provider):
    url = f"/auth/{provider}/backchannel-logout"
    resp = app.test_client().post(url, data={"logout_token": "x"})
    assert resp.status_code == 404


def test_the_token_is_posted_without_the_browsers_cookies(app, fake_idp):
    """The kit's helper posts from a client of its own, as a provider's server would."""
    client = app.test_client()
    fake_idp.sign_in(client, provider="google", sub=SUB)
    assert fake_idp.backchannel_logout(client, "google", sub=SUB).status_code == 200
    assert not signed_in(client)


def test_flask_providers_prints_both_logout_urls_to_register(runner):
    result = runner.invoke(args=["providers", "--base-url", "https://blog.example.com"])
    # After name, title, kind and status come the URLs, then who depends on the provider.
    rows = {line.split("\t")[0]: line.split("\t")[4:-1] for line in result.output.splitlines()}
    assert rows["google"] == [
        "https://blog.example.com/auth/google/callback",
        "https://blog.example.com/auth/google/signed-out",
        "https://blog.example.com/auth/google/backchannel-logout",
    ]
    assert rows["github"] == ["https://blog.example.com/auth/github/callback"]


def test_even_with_a_browsers_cookies_the_endpoint_writes_no_session(app, fake_idp):
    client = app.test_client()
    fake_idp.sign_in(client, provider="google", sub=SUB, remember=True)
    p = app.extensions["microblog.providers"]["google"]
    raw = logout_token(fake_idp, p, sub="someone-else", sid=None)
    resp = client.post("/auth/google/backchannel-logout", data={"logout_token": raw})
    assert resp.status_code == 200
    assert resp.headers.getlist("Set-Cookie") == []
    assert signed_in(client)
