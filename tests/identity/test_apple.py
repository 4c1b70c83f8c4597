"""preset = "apple": form_post that keeps the session, a client secret we sign, the name once."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from microblog.config import ConfigError
from microblog.extensions import db
from microblog.identity.clientauth import SignedClientSecret
from microblog.identity.providers import load_providers
from microblog.models import User
from microblog.testing.client import hidden_fields
from microblog.testing.variants import CROSS_SITE, SAME_SITE
from tests.helpers import base_config

APPLE_KEY = ECKey.generate_key("P-256")
RELAY = "x7f8kq2v9z@privaterelay.appleid.com"
PROVIDERS = """
[providers.apple]
preset = "apple"
client_id = "com.example.web"
team_id = "TEAM123456"
key_id = "KEY1234567"
private_key = "${APPLE_KEY}"

[providers.google]
preset = "google"
client_id = "google-id"
client_secret = "google-secret"
"""


@pytest.fixture
def app_config(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("APPLE_KEY", APPLE_KEY.as_pem(private=True).decode())
    path = tmp_path / "providers.toml"
    path.write_text(PROVIDERS)
    return base_config(database_url, MICROBLOG_PROVIDERS=str(path))


def users() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.id)))


def callback_form(fake_idp, client, **person) -> tuple[str, dict[str, str]]:
    """Start a sign-in and play Apple's page: the callback path and what Apple posts to it."""
    from microblog.testing import Person

    location = fake_idp.start(client, "apple").headers["Location"]
    assert parse_qs(location.partition("?")[2])["response_mode"] == ["form_post"]
    path, _, query = fake_idp.authorize(location, Person(**person)).partition("?")
    return path, {k: v[0] for k, v in parse_qs(query).items()}


def test_sign_in_lands_on_the_timeline(client, fake_idp):
    resp = fake_idp.sign_in(client, provider="apple", email="ann@icloud.com")
    assert resp.headers["Location"] == "/"
    assert [u.email for u in users()] == ["ann@icloud.com"]
    assert fake_idp.client_auths == ["client_secret_post"]


def test_apples_cross_site_post_never_writes_the_session(app, client, fake_idp):
    path, form = callback_form(fake_idp, client)
    with client.session_transaction() as before:
        pending = dict(before)
    page = app.test_client().post(path, data=form, headers=CROSS_SITE)  # no cookies of ours
    assert page.status_code == 200
    assert page.headers.getlist("Set-Cookie") == []
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "same-origin"
    html = page.get_data(as_text=True)
    assert '<script src="/static/continue.js" defer></script>' in html
    assert '<button type="submit" class="button">Continue</button>' in html
    assert hidden_fields(html) == {**form, "continued": "1"}
    with client.session_transaction() as after:
        assert dict(after) == pending  # the visitor's pending sign-in is still there
    done = client.post(path, data=hidden_fields(html), headers=SAME_SITE)
    assert done.headers["Location"] == "/"
    assert len(users()) == 1


def test_the_continue_script_submits_the_form(app):
    with app.test_client().get("/static/continue.js") as resp:
        script = resp.get_data(as_text=True)
    assert 'document.getElementById("continue-sign-in")' in script and "form.submit()" in script


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example.com"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://evil.localhost"},
        {"Origin": "https://evil.example.com"},  # a browser without Fetch Metadata
    ],
)
def test_a_continued_post_from_another_site_is_refused(client, fake_idp, headers):
    path, form = callback_form(fake_idp, client)
    resp = client.post(path, data={**form, "continued": "1"}, headers=headers)
    assert resp.status_code == 400
    assert users() == []


def test_without_fetch_metadata_our_own_origin_continues(client, fake_idp):
    path, form = callback_form(fake_idp, client)
    resp = client.post(
        path, data={**form, "continued": "1"}, headers={"Origin": "http://localhost"}
    )
    assert resp.headers["Location"] == "/"


def test_the_client_secret_is_a_short_ES256_jwt_from_our_team(client, fake_idp):
    fake_idp.sign_in(client, provider="apple")
    [call] = [c for c in fake_idp.rsps.calls if c.request.url.endswith("/token")]
    form = {k: v[0] for k, v in parse_qs(call.request.body).items()}
    assert "Authorization" not in call.request.headers
    public = ECKey.import_key(APPLE_KEY.as_dict(private=False))
    secret = jwt.decode(form["client_secret"], public, algorithms=["ES256"])
    assert (secret.header["alg"], secret.header["kid"]) == ("ES256", "KEY1234567")
    claims = secret.claims
    assert (claims["iss"], claims["sub"], claims["aud"]) == (
        "TEAM123456",
        "com.example.web",
        "https://appleid.apple.com",
    )
    assert claims["exp"] - claims["iat"] == 3600


def test_the_client_secret_is_reused_then_renewed_before_it_ends(monkeypatch):
    maker = SignedClientSecret(APPLE_KEY, "TEAM", "KID", "https://appleid.apple.com")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    first = maker.secret("client")
    monkeypatch.setattr(time, "time", lambda: now + 3600 - 301)
    assert maker.secret("client") == first
    monkeypatch.setattr(time, "time", lambda: now + 3600 - 299)
    renewed = maker.secret("client")
    assert renewed != first
    exp = jwt.decode(renewed, APPLE_KEY, algorithms=["ES256"]).claims["exp"]
    assert exp == int(now + 3600 - 299) + 3600


def test_a_wrong_client_secret_is_refused_by_the_fake_apple(client, fake_idp, app):
    oauth = app.extensions["authlib.integrations.flask_client"]
    [maker] = oauth.create_client("apple").client_auth_methods
    maker.key = ECKey.generate_key("P-256")  # not the key Apple holds
    resp = fake_idp.sign_in(client, provider="apple")
    assert resp.headers["Location"].startswith("/login")
    assert users() == []


def test_the_name_sent_on_the_first_sign_in_is_kept(client, fake_idp, app):
    resp = fake_idp.sign_in(client, provider="apple", email=RELAY, name="Zoë Lee")
    assert resp.headers["Location"] == "/"
    [user] = users()
    assert user.email == RELAY
    assert user.nickname == "zoe_lee"  # from the name, not the relay address's random part
    # Later sign-ins bring no name; the account is the same.
    again = fake_idp.sign_in(app.test_client(), provider="apple", email=RELAY, name="Zoë Lee")
    assert again.headers["Location"] == "/"
    assert [u.nickname for u in users()] == ["zoe_lee"]


def test_the_user_field_is_posted_only_on_the_first_authorization(client, fake_idp, app):
    path, form = callback_form(fake_idp, client, email=RELAY)
    assert "user" not in form  # authorize() alone plays the page; answer() adds `user`
    first = fake_idp.sign_in(app.test_client(), provider="apple", email="bo@icloud.com")
    assert first.headers["Location"] == "/"
    assert ("apple", fake_idp_subject("bo@icloud.com")) in fake_idp.authorized_before


def fake_idp_subject(email: str) -> str:
    from microblog.testing import Person

    return Person(email=email).subject


def test_a_relay_address_counts_as_verified_when_apple_says_it_is_private(client, fake_idp):
    resp = fake_idp.sign_in(client, provider="apple", email=RELAY, email_verified=False)
    assert resp.headers["Location"] == "/"
    assert [u.email for u in users()] == [RELAY]


def test_an_unverified_ordinary_address_is_refused(client, fake_idp):
    resp = fake_idp.sign_in(client, provider="apple", email="eve@example.org", email_verified=False)
    assert resp.headers["Location"].startswith("/login")
    assert "Apple says eve@example.org is not verified" in client.get("/login").get_data(
        as_text=True
    )


@pytest.mark.parametrize("user", ["not json", "[1, 2]", '{"name": "Ann"}', "x" * 5000, ""])
def test_a_strange_user_field_is_ignored(client, fake_idp, user):
    path, form = callback_form(fake_idp, client, email=RELAY)
    page = fake_idp.app.test_client().post(path, data={**form, "user": user}, headers=CROSS_SITE)
    resp = client.post(path, data=hidden_fields(page.get_data(as_text=True)), headers=SAME_SITE)
    assert resp.headers["Location"] == "/"
    [account] = users()
    assert account.nickname == "x7f8kq2v9z"  # no name: the address it is


def test_cancelling_at_apple_comes_back_by_form_post_too(client, fake_idp):
    fake_idp.fail("access_denied")
    resp = fake_idp.sign_in(client, provider="apple")
    assert resp.headers["Location"].startswith("/login")
    assert "Signing in with Apple was cancelled" in client.get("/login").get_data(as_text=True)


APPLE_MISTAKES = [
    ("team_id", "team_id: missing"),
    ("key_id", "key_id: missing"),
    ("private_key", "private_key: missing"),
]


@pytest.mark.parametrize(("left_out", "problem"), APPLE_MISTAKES)
def test_apples_keys_are_required(tmp_path, left_out, problem):
    lines = [line for line in PROVIDERS.splitlines() if not line.startswith(left_out)]
    path = tmp_path / "providers.toml"
    path.write_text("\n".join(lines))
    with pytest.raises(ConfigError) as exc:
        load_providers(path, {"APPLE_KEY": APPLE_KEY.as_pem(private=True).decode()})
    assert str(exc.value).startswith(f"{path}: [providers.apple] {problem}")


def test_apples_key_must_be_ec(tmp_path):
    path = tmp_path / "providers.toml"
    path.write_text(PROVIDERS)
    rsa = RSAKey.generate_key(2048).as_pem(private=True).decode()
    with pytest.raises(ConfigError, match=r"private_key: Apple's key is an EC P-256 key"):
        load_providers(path, {"APPLE_KEY": rsa})


def test_an_unset_key_variable_turns_apple_off(tmp_path):
    path = tmp_path / "providers.toml"
    path.write_text(PROVIDERS)
    p, _google = load_providers(path, {})
    assert p.disabled_reason == "environment variable is not set: APPLE_KEY"


def test_the_user_json_shape(fake_idp):
    from microblog.testing import Person
    from microblog.testing.variants import first_sign_in_user

    user = first_sign_in_user(Person(email="a@b.c", name="Ann Lee"))
    assert json.loads(json.dumps(user)) == {
        "name": {"firstName": "Ann", "lastName": "Lee"},
        "email": "a@b.c",
    }


def test_linking_apple_from_settings_survives_the_form_post(client, fake_idp):
    from microblog.testing import csrf_token

    fake_idp.sign_in(client, provider="google", email="ann@example.org")
    token = csrf_token(client, "/settings")
    location = client.post("/login/apple", data={"csrf_token": token, "link": "1"}).location
    resp = fake_idp.answer(client, fake_idp.authorize(location))
    assert resp.headers["Location"] == "/settings"
    assert "Apple is now linked" in client.get("/settings").get_data(as_text=True)
    [user] = users()
    assert sorted(i.provider for i in user.identities) == ["apple", "google"]
