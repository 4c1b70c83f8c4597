"""Values a provider or a proxy sends that a database would refuse: a clear failure, never a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from microblog.extensions import db
from microblog.identity import limits
from microblog.identity.models import Identity, SignIn
from microblog.models import User
from tests.helpers import base_config, csrf_token

LONG_EMAIL = "a" * 64 + "." + "b" * 265 + "@example.org"  # 342 characters
CANNOT_STORE = "this site cannot store"


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def login_page(client) -> str:
    return client.get("/login").get_data(as_text=True)


def refused_clearly(client, resp) -> bool:
    return (
        resp.status_code == 302
        and resp.headers["Location"] == "/login"
        and CANNOT_STORE in login_page(client)
        and count(User) == count(Identity) == 0
    )


@pytest.mark.parametrize(
    "email",
    [LONG_EMAIL, "ann\x00@example.org", "ann\u202e@example.org", "ann@exam\nple.org"],
    ids=["342-chars", "nul", "bidi-override", "newline"],
)
@pytest.mark.parametrize("provider", ["google", "github", "plain"])
def test_an_unstorable_email_fails_the_sign_in_clearly(client, fake_idp, email, provider):
    assert refused_clearly(client, fake_idp.sign_in(client, provider=provider, email=email))


@pytest.mark.parametrize(
    "person",
    [{"sub": "g-\x001"}, {"sub": "g-\x1b[31m"}, {"picture": "https://pics.example.org/a\x00.png"}],
    ids=["nul-subject", "escape-subject", "nul-picture"],
)
def test_an_unstorable_subject_or_picture_fails_the_sign_in_clearly(client, fake_idp, person):
    assert refused_clearly(client, fake_idp.sign_in(client, **person))


def test_a_lone_surrogate_fails_the_sign_in_clearly(client, fake_idp):
    """JSON may escape half a UTF-16 pair, which no database can encode."""
    emails = '[{"email": "\\ud800ann@example.org", "primary": true, "verified": true}]'
    fake_idp.rsps.replace("GET", "https://api.github.com/user/emails", body=emails)
    assert refused_clearly(client, fake_idp.sign_in(client, provider="github"))


def test_a_returning_person_with_an_unstorable_email_is_refused_too(client, fake_idp):
    assert fake_idp.sign_in(client, sub="g-1").headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    resp = fake_idp.sign_in(client, email="ann\x00@example.org", sub="g-1")
    assert resp.headers["Location"] == "/login"
    assert CANNOT_STORE in login_page(client)
    assert db.session.scalar(sa.select(Identity.email)) == "ann@example.org"


def test_the_longest_storable_email_signs_in(client, fake_idp):
    email = "a" * 64 + "@" + "b" * (limits.MAX_EMAIL_CHARS - 65 - 4) + ".org"
    assert len(email) == limits.MAX_EMAIL_CHARS
    assert fake_idp.sign_in(client, email=email).headers["Location"] == "/"
    assert db.session.scalar(sa.select(User.email)) == email


@pytest.fixture
def app_config(database_url):
    """Behind one proxy, whose X-Forwarded-For names the client."""
    return base_config(database_url, TRUSTED_PROXIES=1)


@pytest.mark.parametrize(
    ("forwarded_for", "stored"),
    [("203.0.113.7", "203.0.113.7"), ("x" * 60, None), ("1" * 60, None),
     ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"), ("not an address", None),
     ("198.51.100.1, 203.0.113.9", "203.0.113.9")],
)  # fmt: skip
def test_the_client_address_is_stored_only_when_it_is_one(client, fake_idp, forwarded_for, stored):
    location = fake_idp.start(client, "google").headers["Location"]
    resp = client.get(fake_idp.authorize(location), headers={"X-Forwarded-For": forwarded_for})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert db.session.scalar(sa.select(SignIn.ip_address)) == stored
