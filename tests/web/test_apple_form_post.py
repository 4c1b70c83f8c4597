"""Sign in with Apple's form_post in Chromium: a cross-site POST, and the session survives it.

A stand-in for Apple runs on 127.0.0.2, another site than the app on 127.0.0.1 as far as
SameSite goes, so the browser really withholds our Lax cookies from its POST.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
import time
from urllib.parse import urlsplit

import flask
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from playwright.sync_api import expect
from werkzeug.serving import make_server

from microblog import create_app
from microblog.extensions import db
from tests.helpers import base_config
from tests.web.test_browser import base_url, browser_type_launch_args  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
APPLE_HOST = "127.0.0.2"
CLIENT_ID = "com.example.web"


def fake_apple(issuer: str, signing_key: RSAKey) -> flask.Flask:
    """Apple's endpoints, enough for one browser: discovery, keys, its page, its token."""
    apple = flask.Flask("fake_apple")
    grants: dict[str, dict[str, str]] = {}

    @apple.get("/.well-known/openid-configuration")
    def discovery():
        return {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/auth/authorize",
            "token_endpoint": f"{issuer}/auth/token",
            "jwks_uri": f"{issuer}/auth/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        }

    @apple.get("/auth/keys")
    def keys():
        return {"keys": [signing_key.as_dict(private=False)]}

    @apple.get("/auth/authorize")
    def authorize():
        args = flask.request.args
        assert args["response_mode"] == "form_post"
        code = secrets.token_urlsafe(12)
        grants[code] = {"nonce": args["nonce"]}
        user = '{"name": {"firstName": "Ann", "lastName": "Lee"}, "email": "ann@icloud.com"}'
        fields = {"code": code, "state": args["state"], "user": user}
        inputs = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items()
        )
        action = html.escape(args["redirect_uri"])
        return (
            f'<!doctype html><form method="post" action="{action}">{inputs}'
            "<button>Continue with Apple</button></form>"
        )

    @apple.post("/auth/token")
    def token():
        form = flask.request.form
        assert form["client_id"] == CLIENT_ID and form["client_secret"].count(".") == 2
        grant = grants.pop(form["code"])
        now = int(time.time())
        claims = {
            "iss": issuer, "aud": CLIENT_ID, "sub": "001234.apple", "iat": now, "exp": now + 300,
            "nonce": grant["nonce"], "email": "ann@icloud.com", "email_verified": "true",
        }  # fmt: skip
        id_token = jwt.encode({"alg": "RS256", "kid": signing_key.kid}, claims, signing_key)
        return {
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": id_token,
        }

    return apple


@pytest.fixture
def apple_issuer():
    server = make_server(APPLE_HOST, 0, lambda e, s: apple_app[0](e, s), threaded=True)
    issuer = f"http://{APPLE_HOST}:{server.server_port}"
    apple_app = [fake_apple(issuer, RSAKey.generate_key(2048, parameters={"kid": "k1"}))]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield issuer
    server.shutdown()
    thread.join(5)
    server.server_close()


@pytest.fixture
def site(server, apple_issuer, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("APPLE_KEY", ECKey.generate_key("P-256").as_pem(private=True).decode())
    providers = tmp_path / "providers.toml"
    providers.write_text(
        f'[providers.apple]\npreset = "apple"\nissuer = "{apple_issuer}"\n'
        f'client_id = "{CLIENT_ID}"\nteam_id = "TEAM"\nkey_id = "KID"\n'
        'private_key = "${APPLE_KEY}"\n'
    )
    app = create_app(base_config(database_url, MICROBLOG_PROVIDERS=str(providers)))
    server.app = app
    yield app
    server.app = None
    with app.app_context():
        db.engine.dispose()


def loopback(context):
    """Let the context reach only the app and the stand-in for Apple."""
    hosts = {"127.0.0.1", APPLE_HOST}
    context.route(
        "**/*",
        lambda route: (
            route.continue_() if urlsplit(route.request.url).hostname in hosts else route.abort()
        ),
    )
    context.set_default_timeout(10_000)
    return context


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "button"])
def test_apple_form_post_signs_in_and_keeps_the_session(new_context, server, site, javascript):
    context = loopback(new_context(java_script_enabled=javascript))
    page = context.new_page()
    callback_posts = []
    page.on(
        "request",
        lambda r: (
            callback_posts.append(r)
            if r.method == "POST" and r.url.endswith("/auth/apple/callback")
            else None
        ),
    )
    page.goto(f"{server.url}/login")
    page.get_by_role("button", name="Sign in with Apple").click()
    expect(page).to_have_url(re.compile(rf"^http://{re.escape(APPLE_HOST)}:\d+/auth/authorize\?"))
    page.get_by_role("button", name="Continue with Apple").click()
    if not javascript:
        expect(page.get_by_role("heading", name="Signing in with Apple")).to_be_visible()
        page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(f"{server.url}/")
    expect(page.get_by_role("link", name="ann", exact=True)).to_be_visible()  # signed in
    # Apple's POST came without our session cookie; our page's POST brought it back.
    first, second = (r.all_headers() for r in callback_posts)
    assert "session=" not in first.get("cookie", "")
    assert "session=" in second.get("cookie", "")
    context.close()
