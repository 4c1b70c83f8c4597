"""User info as a signed JWT (`application/jwt`): verified like an ID token, its sub matched."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.models import User
from microblog.testing.tokens import new_key

PICTURE = "https://img.example.com/ann.png"


def users() -> list[User]:
    return list(db.session.scalars(sa.select(User)))


@pytest.mark.parametrize("provider", ["google", "company"])
def test_signed_user_info_is_read(client, fake_idp, provider):
    fake_idp.sign_userinfo(picture=PICTURE)  # only user info carries the picture
    resp = fake_idp.sign_in(client, provider=provider)
    assert resp.headers["Location"] == "/"
    [user] = users()
    assert user.picture == PICTURE
    [answer] = [c.response for c in fake_idp.rsps.calls if c.request.url.endswith("/userinfo")]
    assert answer.headers["Content-Type"] == "application/jwt"


FORGERIES = {  # what the provider sends: the reason the log gives
    "another key": ({"key": "forger"}, "BadSignatureError"),
    "alg none": ({"unsigned": True}, "user info algorithm 'none' is not allowed"),
    "wrong iss": ({"iss": "https://evil.example.com"}, "user info iss 'https://evil"),
    "no iss": ({"iss": None}, "user info iss None"),
    "wrong aud": ({"aud": "someone-else"}, "user info aud 'someone-else' does not name"),
    "no aud": ({"aud": None}, "user info aud None"),
    "other sub": ({"sub": "someone-else"}, "userinfo sub differs from the ID token's"),
    "expired": ({"exp": int(time.time()) - 3600}, "user info has expired"),
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_bad_signed_user_info_stops_the_sign_in(client, fake_idp, caplog, forgery):
    changes, reason = FORGERIES[forgery]
    changes = dict(changes)
    if changes.get("key") == "forger":
        changes["key"] = new_key()
    fake_idp.sign_userinfo(picture=PICTURE, **changes)
    resp = fake_idp.sign_in(client, provider="company")
    assert resp.headers["Location"].startswith("/login")
    assert users() == []
    assert "We could not verify the answer from Company SSO" in client.get("/login").get_data(
        as_text=True
    )
    assert reason in caplog.text


def test_an_encrypted_user_info_is_refused_not_a_500(client, fake_idp, caplog):
    jwe = "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"
    fake_idp.rsps.replace(
        "GET",
        "https://sso.example.com/realms/main/userinfo",
        body=jwe,
        content_type="application/jwt",
    )
    resp = fake_idp.sign_in(client, provider="company")
    assert resp.headers["Location"].startswith("/login")
    assert users() == []
    assert "user info is encrypted (JWE)" in caplog.text
