"""Person's fields reach the app through each kind: name, picture, subject, GitHub's emails."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from joserfc import jwt

from microblog.extensions import db
from microblog.identity.models import Identity
from microblog.models import User
from microblog.testing import Person

PICTURE = "https://pictures.example.org/lin.png"


def answers(fake_idp, path: str) -> list[dict]:
    """The JSON bodies the fake provider sent back for requests to URLs with this path."""
    calls = fake_idp.rsps.calls
    return [c.response.json() for c in calls if urlsplit(c.request.url).path.endswith(path)]


def identities() -> list[tuple[str, str, str]]:
    rows = db.session.execute(
        sa.select(Identity.provider, Identity.subject, User.email).join(User).order_by(Identity.id)
    )
    return [tuple(row) for row in rows]


def test_openid_connect_tells_name_picture_and_sub(client, fake_idp):
    resp = fake_idp.sign_in(client, email="lin@example.org", name="Lin", picture=PICTURE, sub="g-1")
    assert resp.headers["Location"] == "/"
    [token] = answers(fake_idp, "/token")
    claims = jwt.decode(token["id_token"], fake_idp.key).claims
    [info] = answers(fake_idp, "/userinfo")
    for told in (claims, info):
        assert told["sub"] == "g-1"
        assert told["name"] == "Lin"
        assert told["picture"] == PICTURE
        assert told["email"] == "lin@example.org" and told["email_verified"] is True
    assert identities() == [("google", "g-1", "lin@example.org")]
    assert db.session.scalar(sa.select(User.picture)) == PICTURE


def test_plain_oauth2_tells_the_subject_as_id(client, fake_idp):
    fake_idp.sign_in(client, email="lin@example.org", provider="plain", name="Lin", sub="p-9")
    [me] = answers(fake_idp, "/api/me")
    assert me == {"id": "p-9", "email": "lin@example.org", "email_verified": True, "name": "Lin"}
    assert identities() == [("plain", "p-9", "lin@example.org")]


def test_github_tells_name_and_avatar_and_its_own_numeric_id(app, fake_idp):
    for sub in ("gh-1", "gh-1", "gh-2"):
        fake_idp.sign_in(app.test_client(), email=f"{sub}@example.org", provider="github",
                         name="Lin", picture=PICTURE, sub=sub)  # fmt: skip
    users = answers(fake_idp, "/user")
    assert {(u["name"], u["avatar_url"], u["login"]) for u in users} == {
        ("Lin", PICTURE, "gh-1"),
        ("Lin", PICTURE, "gh-2"),
    }
    assert all(isinstance(u["id"], int) for u in users)
    first, again, other = (str(u["id"]) for u in users)
    assert first == again != other  # derived from sub: the same person keeps their id
    assert [(p, s) for p, s, _ in identities()] == [("github", first), ("github", other)]


def test_github_emails_replace_the_default_list(client, fake_idp):
    emails = [
        {"email": "old@example.org", "primary": False, "verified": True, "visibility": None},
        {"email": "work@example.org", "primary": True, "verified": True, "visibility": None},
    ]
    fake_idp.sign_in(client, email="ignored@example.org", provider="github", github_emails=emails)
    assert answers(fake_idp, "/user/emails") == [emails]
    assert [email for *_, email in identities()] == ["work@example.org"]


def test_github_default_emails_list_the_email_as_primary(client, fake_idp):
    fake_idp.sign_in(client, email="lin@example.org", provider="github", email_verified=False)
    assert answers(fake_idp, "/user/emails") == [
        [{"email": "lin@example.org", "primary": True, "verified": False, "visibility": "private"}]
    ]
    assert identities() == []  # unverified: refused


@pytest.mark.parametrize("provider", ["google", "github", "company", "plain"])
def test_the_default_subject_is_stable_per_email(app, fake_idp, provider):
    for email in ("Lin@Example.org", "lin@example.org", "kim@example.org"):
        assert (
            fake_idp.sign_in(app.test_client(), email=email, provider=provider).status_code == 302
        )
    subjects = [s for _, s, _ in identities()]
    assert len(subjects) == 2  # Lin signed in twice as one identity; Kim is another
    assert Person(email="Lin@Example.org").subject == Person(email="lin@example.org").subject


def test_no_email_at_all(client, fake_idp):
    fake_idp.sign_in(client, email=None)
    [info] = answers(fake_idp, "/userinfo")
    assert info["email"] is None
    assert identities() == []
