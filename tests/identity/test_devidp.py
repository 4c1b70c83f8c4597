"""The built-in development provider, driven over real HTTP by the app's own sign-in flow."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
import responses
import sqlalchemy as sa
from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet

from microblog import create_app
from microblog.config import ConfigError
from microblog.extensions import db
from microblog.identity import devidp
from microblog.identity.models import Identity
from microblog.identity.registry import dev_client_secret
from microblog.models import User
from tests.helpers import base_config
from tests.live import hidden_fields

DEV_PROVIDERS = '[providers.dev]\npreset = "dev"\n'


@dataclass
class Live:
    """The app served on a real port, and a browser-like session to drive it."""

    app: Flask
    url: str
    browser: requests.Session

    @property
    def issuer(self) -> str:
        return f"{self.url}/dev-idp"

    @property
    def callback(self) -> str:
        return f"{self.url}/auth/dev/callback"

    def follow(self, response):
        """Follow one redirect, as a browser would, wherever it leads."""
        return self.browser.get(urljoin(response.url, response.headers["Location"]))

    def users(self) -> list[User]:
        with self.app.app_context():
            users = db.session.scalars(sa.select(User).order_by(User.id)).all()
            db.session.expunge_all()
            return users


def dev_config(database_url, tmp_path, **overrides):
    """Settings for an app in development with the built-in provider."""
    providers = tmp_path / "providers.toml"
    providers.write_text(DEV_PROVIDERS)
    return base_config(
        database_url, MICROBLOG_ENV="development", MICROBLOG_PROVIDERS=str(providers), **overrides
    )


@pytest.fixture
def live(database_url, tmp_path, server):
    server.app = create_app(
        dev_config(database_url, tmp_path, DEV_IDP_ISSUER=f"{server.url}/dev-idp")
    )
    with requests.Session() as browser:
        yield Live(server.app, server.url, browser)
    with server.app.app_context():
        db.engine.dispose()


def open_dev_form(live: Live, remember: bool = False, next_url: str | None = None):
    """Press "Sign in with Development sign-in" on the login page; return the provider's page."""
    login = live.browser.get(f"{live.url}/login")
    form = {"csrf_token": hidden_fields(login.text)["csrf_token"]}
    if remember:
        form["remember_me"] = "1"
    if next_url:
        form["next"] = next_url
    page = live.browser.post(f"{live.url}/login/dev", data=form)
    assert page.status_code == 200
    assert urlsplit(page.url).path == "/dev-idp/authorize"
    return page


def submit(live: Live, page, action="continue", email="ada@example.org", verified=True):
    """Fill in the "Sign in as" form and press a button; return the provider's redirect."""
    form = {**hidden_fields(page.text), "action": action, "email": email, "name": "Ada"}
    if verified:
        form["email_verified"] = "1"
    answer = live.browser.post(f"{live.issuer}/authorize", data=form, allow_redirects=False)
    assert answer.status_code == 302
    return answer


def sign_in(live: Live, **choices):
    """Go through the whole flow; return the callback's response (not followed)."""
    remember, next_url = choices.pop("remember", False), choices.pop("next_url", None)
    answer = submit(live, open_dev_form(live, remember, next_url), **choices)
    assert answer.headers["Location"].startswith(f"{live.callback}?")
    return live.browser.get(answer.headers["Location"], allow_redirects=False)


def test_sign_in_creates_user_then_finds_it_again(live):
    done = sign_in(live)
    assert done.status_code == 302
    assert urlsplit(done.headers["Location"]).path == "/"
    assert "remember_token" not in live.browser.cookies
    [user] = live.users()
    assert user.email == "ada@example.org"

    live.browser.cookies.clear()
    again = sign_in(live, email="Ada@Example.org")
    assert urlsplit(again.headers["Location"]).path == "/"
    assert [u.id for u in live.users()] == [user.id]
    with live.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Identity)) == 1


def test_remember_me_and_next(live):
    done = sign_in(live, remember=True, next_url="/explore")
    assert done.status_code == 302
    assert urlsplit(done.headers["Location"]).path == "/explore"
    assert "remember_token" in live.browser.cookies


def test_unverified_email_is_refused(live):
    done = sign_in(live, verified=False)
    page = live.follow(done)
    assert urlsplit(page.url).path == "/login"
    assert "is not verified" in page.text
    assert live.users() == []


def test_cancel_returns_to_login(live):
    answer = submit(live, open_dev_form(live), action="cancel")
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"]
    page = live.follow(answer)
    assert urlsplit(page.url).path == "/login"
    assert "was cancelled" in page.text
    assert live.users() == []


def test_form_says_it_is_for_development(live):
    page = open_dev_form(live)
    assert "Sign in as" in page.text
    assert "anyone can sign in as anyone" in " ".join(page.text.split())
    assert 'type="email"' in page.text and "required" in page.text
    assert 'name="email_verified" value="1" checked' in page.text
    assert set(hidden_fields(page.text)) >= {"csrf_token", "state", "nonce", "code_challenge"}
    assert "<script" not in page.text and "style=" not in page.text


def test_form_without_email_is_shown_again(live):
    page = open_dev_form(live)
    form = {**hidden_fields(page.text), "action": "continue", "email": "nobody"}
    again = live.browser.post(f"{live.issuer}/authorize", data=form, allow_redirects=False)
    assert again.status_code == 400
    assert "Enter an email" in again.text


def test_post_without_csrf_token_is_refused(live):
    page = open_dev_form(live)
    form = {**hidden_fields(page.text), "action": "continue", "email": "ada@example.org"}
    del form["csrf_token"]
    answer = live.browser.post(f"{live.issuer}/authorize", data=form, allow_redirects=False)
    assert answer.status_code == 400
    assert "Location" not in answer.headers


def test_discovery(live):
    meta = requests.get(f"{live.issuer}/.well-known/openid-configuration").json()
    assert meta["issuer"] == live.issuer
    assert meta["authorization_endpoint"] == f"{live.issuer}/authorize"
    assert meta["token_endpoint"] == f"{live.issuer}/token"
    assert meta["userinfo_endpoint"] == f"{live.issuer}/userinfo"
    assert meta["jwks_uri"] == f"{live.issuer}/jwks"
    assert meta["response_types_supported"] == ["code"]
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }
    assert {"openid", "email", "profile"} <= set(meta["scopes_supported"])
    assert {"sub", "email", "email_verified"} <= set(meta["claims_supported"])


# --- The protocol, spoken directly: our own client with its own PKCE verifier. ---


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_params(live: Live, challenge: str, **overrides) -> dict[str, str]:
    return {
        "client_id": "microblog-dev",
        "redirect_uri": live.callback,
        "response_type": "code",
        "scope": "openid email profile",
        "state": "the-state",
        "nonce": "the-nonce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }


def get_code(live: Live, challenge: str, email: str = "grace@example.org") -> str:
    page = live.browser.get(f"{live.issuer}/authorize", params=authorize_params(live, challenge))
    assert page.status_code == 200
    form = {**hidden_fields(page.text), "action": "continue", "email": email, "email_verified": "1"}
    answer = live.browser.post(f"{live.issuer}/authorize", data=form, allow_redirects=False)
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["the-state"]
    assert query["iss"] == [live.issuer]
    return query["code"][0]


def redeem(live: Live, code: str, verifier: str, secret: str | None = None, **form):
    secret = secret if secret is not None else dev_client_secret(live.app)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": live.callback,
        "code_verifier": verifier,
        **form,
    }
    return requests.post(f"{live.issuer}/token", data=data, auth=("microblog-dev", secret))


def test_token_id_token_and_userinfo(live):
    verifier, challenge = pkce()
    response = redeem(live, get_code(live, challenge), verifier)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] > 60

    keys = KeySet.import_key_set(requests.get(f"{live.issuer}/jwks").json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    assert decoded.header["kid"] == keys.keys[0].kid
    claims = decoded.claims
    assert claims["iss"] == live.issuer
    assert claims["aud"] == claims["azp"] == "microblog-dev"
    assert claims["nonce"] == "the-nonce"
    assert claims["email"] == "grace@example.org" and claims["email_verified"] is True
    assert claims["exp"] > claims["iat"]
    assert "auth_time" in claims

    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    info = requests.get(f"{live.issuer}/userinfo", headers=bearer).json()
    assert info["sub"] == claims["sub"]
    assert info["email"] == "grace@example.org"
    assert info["preferred_username"] == "grace"


def test_client_secret_post_is_accepted(live):
    verifier, challenge = pkce()
    data = {
        "grant_type": "authorization_code",
        "code": get_code(live, challenge),
        "redirect_uri": live.callback,
        "code_verifier": verifier,
        "client_id": "microblog-dev",
        "client_secret": dev_client_secret(live.app),
    }
    assert requests.post(f"{live.issuer}/token", data=data).status_code == 200


def test_subject_is_stable_per_email(live):
    subjects = []
    for email in ("lin@example.org", "LIN@example.org", "other@example.org"):
        verifier, challenge = pkce()
        token = redeem(live, get_code(live, challenge, email), verifier).json()
        subjects.append(jwt.decode(token["id_token"], devidp_key(live)).claims["sub"])
    assert subjects[0] == subjects[1] != subjects[2]


def devidp_key(live: Live):
    return live.app.extensions["microblog.devidp"].key


def test_reused_code_is_refused(live):
    verifier, challenge = pkce()
    code = get_code(live, challenge)
    assert redeem(live, code, verifier).status_code == 200
    again = redeem(live, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"verifier": "x" * 43}, 400, "invalid_grant"),
        ({"verifier": ""}, 400, "invalid_grant"),
        ({"secret": "wrong-secret"}, 401, "invalid_client"),
        ({"redirect_uri": "http://127.0.0.1:1/auth/dev/callback"}, 400, "invalid_grant"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"code": "forged"}, 400, "invalid_grant"),
    ],
)
def test_token_request_is_refused(live, change, status, error):
    change = dict(change)  # the parameter is shared by the SQLite and PostgreSQL runs
    verifier, challenge = pkce()
    code = change.pop("code", None) or get_code(live, challenge)
    verifier = change.pop("verifier", verifier)
    response = redeem(live, code, verifier, **change)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"
    if status == 401:
        assert "WWW-Authenticate" in response.headers


def test_expired_code_is_refused(live, monkeypatch):
    verifier, challenge = pkce()
    code = get_code(live, challenge)
    monkeypatch.setattr(devidp, "CODE_TTL", -1)
    response = redeem(live, code, verifier)
    assert response.json()["error"] == "invalid_grant"


def test_code_burnt_by_a_wrong_verifier_cannot_be_retried(live):
    verifier, challenge = pkce()
    code = get_code(live, challenge)
    assert redeem(live, code, "y" * 43).status_code == 400
    assert redeem(live, code, verifier).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic bWljcm9ibG9nLWRldjp4"])
def test_userinfo_needs_a_valid_token(live, header):
    headers = {"Authorization": header} if header else {}
    response = requests.get(f"{live.issuer}/userinfo", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "change",
    [
        {"redirect_uri": "https://evil.example/auth/dev/callback"},
        {"redirect_uri": "http://127.0.0.1:1/auth/dev/callback"},
        {"redirect_uri": ""},
        {"client_id": "someone-else"},
        {"response_type": "token"},
        {"scope": "email"},
        {"code_challenge_method": "plain"},
        {"code_challenge": ""},
        {"state": ""},
        {"nonce": ""},
    ],
)
def test_authorize_refuses_bad_requests_without_redirecting(live, change):
    params = authorize_params(live, pkce()[1], **change)
    page = live.browser.get(f"{live.issuer}/authorize", params=params, allow_redirects=False)
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "Invalid sign-in request" in page.text


def test_posted_decision_is_checked_again(live):
    page = open_dev_form(live)
    form = {**hidden_fields(page.text), "action": "cancel", "redirect_uri": "https://evil.example/"}
    answer = live.browser.post(f"{live.issuer}/authorize", data=form, allow_redirects=False)
    assert answer.status_code == 400
    assert "Location" not in answer.headers


def test_localhost_callback_is_accepted(live):
    port = urlsplit(live.url).port
    params = authorize_params(
        live, pkce()[1], redirect_uri=f"http://localhost:{port}/auth/dev/callback"
    )
    assert live.browser.get(f"{live.issuer}/authorize", params=params).status_code == 200


# --- When the provider must not exist. ---


def test_production_refuses_the_dev_provider(database_url, tmp_path):
    providers = tmp_path / "providers.toml"
    providers.write_text(DEV_PROVIDERS)
    config = base_config(database_url, MICROBLOG_PROVIDERS=str(providers))
    with pytest.raises(ConfigError, match="lets anyone sign in as anyone"):
        create_app(config)


@pytest.mark.parametrize("providers", [None, '[providers.dev]\npreset = "dev"\nenabled = false\n'])
def test_not_served_without_a_dev_provider(database_url, tmp_path, providers):
    overrides = {"MICROBLOG_ENV": "development"}
    if providers:
        path = tmp_path / "providers.toml"
        path.write_text(providers)
        overrides["MICROBLOG_PROVIDERS"] = str(path)
    app = create_app(base_config(database_url, **overrides))
    client = app.test_client()
    assert client.get("/dev-idp/.well-known/openid-configuration").status_code == 404
    assert client.get("/dev-idp/authorize").status_code == 404
    assert "microblog.devidp" not in app.extensions
    with app.app_context():
        db.engine.dispose()


# --- Only on this machine's own names: a DNS-rebinding page reaches it under another. ---

REBOUND = "rebind.attacker.example"


def csrf_for(live: Live, host: str) -> str:
    """The CSRF token a browser has when it opens the site under `host` (cookies go by name)."""
    login = live.browser.get(f"{live.url}/login", headers={"Host": host})
    return hidden_fields(login.text)["csrf_token"]


def dev_request(live: Live, endpoint: str, host: str) -> dict:
    """A request to one endpoint that the provider grants when addressed by a loopback name."""
    verifier, challenge = pkce()
    issuer, params = live.issuer, authorize_params(live, challenge)
    if endpoint == "discovery":
        return {"method": "GET", "url": f"{issuer}/.well-known/openid-configuration"}
    if endpoint == "jwks":
        return {"method": "GET", "url": f"{issuer}/jwks"}
    if endpoint == "authorize":
        return {"method": "GET", "url": f"{issuer}/authorize", "params": params}
    if endpoint == "decide":
        form = {**params, "csrf_token": csrf_for(live, host), "email": "lin@example.org"}
        return {"method": "POST", "url": f"{issuer}/authorize", "data": form}
    code = get_code(live, challenge)
    if endpoint == "token":
        form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
                "redirect_uri": live.callback}  # fmt: skip
        auth = ("microblog-dev", dev_client_secret(live.app))
        return {"method": "POST", "url": f"{issuer}/token", "data": form, "auth": auth}
    access = redeem(live, code, verifier).json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    return {"method": "GET", "url": f"{issuer}/userinfo", "headers": bearer}


@pytest.mark.parametrize(
    "endpoint", ["discovery", "jwks", "authorize", "decide", "token", "userinfo"]
)
def test_every_endpoint_answers_only_at_a_loopback_name(live, endpoint):
    port = urlsplit(live.url).port
    for host, granted in ((f"{REBOUND}:{port}", False), (f"localhost:{port}", True)):
        request = dev_request(live, endpoint, host)
        headers = {**request.pop("headers", {}), "Host": host}
        answer = live.browser.request(**request, headers=headers, allow_redirects=False)
        if granted:  # the very same request, addressed to the machine by name
            assert answer.status_code in (200, 302), (host, answer.text[:300])
        else:
            assert answer.status_code == 400
            assert "Location" not in answer.headers
            assert "answers only at localhost, 127.0.0.1 or [::1]" in answer.text


def test_sign_in_through_a_rebound_name_is_refused(live):
    port = urlsplit(live.url).port
    at_rebound = {"Host": f"{REBOUND}:{port}"}
    login = live.browser.get(f"{live.url}/login", headers=at_rebound)
    form = {"csrf_token": hidden_fields(login.text)["csrf_token"]}
    start = live.browser.post(
        f"{live.url}/login/dev", data=form, headers=at_rebound, allow_redirects=False
    )
    assert start.status_code == 400
    assert "Location" not in start.headers
    assert f"open the site at {live.url}/ to sign in with it" in start.text
    # A page on that name that skips the start fares no better at the provider.
    rebound_callback = f"http://{REBOUND}:{port}/auth/dev/callback"
    params = authorize_params(live, pkce()[1], redirect_uri=rebound_callback)
    page = live.browser.get(f"{live.issuer}/authorize", params=params, headers=at_rebound)
    assert page.status_code == 400
    callback = live.browser.get(
        f"{live.url}/auth/dev/callback",
        params={"code": "a-code", "state": "a-state"},
        headers=at_rebound,
        allow_redirects=False,
    )
    assert callback.status_code == 400
    assert live.users() == []


@pytest.fixture
def dev_app(database_url, tmp_path):
    app = create_app(dev_config(database_url, tmp_path))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize(
    ("host", "answered"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("LocalHost:8080", True),
        ("127.0.0.1:5000", True),
        ("127.0.0.1", True),
        ("127.8.9.10:5000", True),
        ("[::1]:5000", True),
        ("[::1]", True),
        (REBOUND, False),
        (f"{REBOUND}:5000", False),
        ("localhost.attacker.example:5000", False),
        ("127.0.0.1.attacker.example", False),
        ("localhost.:5000", False),
        ("127.1:5000", False),
        ("0.0.0.0:5000", False),
        ("10.0.0.1:5000", False),
        ("[::2]:5000", False),
        ("[::ffff:127.0.0.1]:5000", False),
        ("[127.0.0.1]:5000", False),
        ("localhost:5000:6000", False),
        ("user@127.0.0.1:5000", False),
    ],
)
def test_loopback_names(dev_app, host, answered):
    response = dev_app.test_client().get(
        "/dev-idp/.well-known/openid-configuration", headers={"Host": host}
    )
    assert response.status_code == (200 if answered else 400)
    if not answered:
        assert response.json["error"] == "invalid_request"
        assert response.headers["Cache-Control"] == "no-store"


def login_form(client, host: str) -> dict[str, str]:
    login = client.get("/login", headers={"Host": host})
    return {"csrf_token": hidden_fields(login.get_data(as_text=True))["csrf_token"]}


def test_login_start_refuses_a_rebound_name(dev_app):
    client = dev_app.test_client()
    with responses.RequestsMock():  # the refusal comes before any request to the provider
        start = client.post(
            "/login/dev", data=login_form(client, REBOUND), headers={"Host": REBOUND}
        )
    assert start.status_code == 400
    assert "open the site at http://127.0.0.1:5000/ to sign in with it" in start.get_data(
        as_text=True
    )


def test_login_start_refuses_an_issuer_off_loopback(database_url, tmp_path, caplog):
    issuer = "http://dev.example.test:5000/dev-idp"
    app = create_app(dev_config(database_url, tmp_path, DEV_IDP_ISSUER=issuer))
    assert f"issuer {issuer} is not a loopback address" in caplog.text
    client = app.test_client()
    with responses.RequestsMock():  # nothing may be fetched from it either
        start = client.post("/login/dev", data=login_form(client, "localhost"))
    assert start.status_code == 400
    assert "Location" not in start.headers
    assert f"set up at {issuer}, which is not a loopback address" in start.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


def test_other_providers_start_at_any_name(app, client, fake_idp):
    # Only the development provider's sign-in is held to loopback.
    started = client.post(
        "/login/google", data=login_form(client, REBOUND), headers={"Host": REBOUND}
    )
    assert started.status_code == 302
    assert started.headers["Location"].startswith("https://accounts.google.com/")
