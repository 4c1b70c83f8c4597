"""Client authentication at the token endpoint: Basic, POST, private_key_jwt, from discovery."""

from __future__ import annotations

import textwrap
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from microblog.testing import FakeIdP
from tests import live
from tests.helpers import base_config

RSA_KEY = RSAKey.generate_key(2048)
EC_KEY = ECKey.generate_key("P-256")
PROVIDERS = """
[providers.company]
issuer = "https://sso.example.com"
client_id = "company-id"
client_secret = "company-secret"

[providers.posted]
issuer = "https://posted.example.com"
client_id = "posted-id"
client_secret = "posted-secret"
token_endpoint_auth_method = "client_secret_post"

[providers.rsa]
issuer = "https://rsa.example.com"
client_id = "rsa-id"
token_endpoint_auth_method = "private_key_jwt"
private_key = "${RSA_PEM}"

[providers.ec]
issuer = "https://ec.example.com"
client_id = "ec-id"
token_endpoint_auth_method = "private_key_jwt"
private_key = "${EC_PEM}"

[providers.plain]
authorize_url = "https://plain.example.net/authorize"
token_url = "https://plain.example.net/token"
userinfo_url = "https://plain.example.net/me"
client_id = "plain-id"
client_secret = "plain-secret"
token_endpoint_auth_method = "client_secret_post"
"""


@pytest.fixture
def app_config(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("RSA_PEM", RSA_KEY.as_pem(private=True).decode())
    # Written on one line with literal \n, as environment variables often carry a PEM.
    monkeypatch.setenv("EC_PEM", EC_KEY.as_pem(private=True).decode().replace("\n", "\\n"))
    path = tmp_path / "providers.toml"
    path.write_text(PROVIDERS)
    return base_config(database_url, MICROBLOG_PROVIDERS=str(path))


def token_requests(fake_idp: FakeIdP) -> list[dict[str, str]]:
    bodies = [c.request for c in fake_idp.rsps.calls if c.request.url.endswith("token")]
    return [{k: v[0] for k, v in parse_qs(r.body or "").items()} for r in bodies]


def test_client_secret_basic_is_the_default(client, fake_idp):
    assert fake_idp.sign_in(client, provider="company").headers["Location"] == "/"
    assert fake_idp.client_auths == ["client_secret_basic"]
    [form] = token_requests(fake_idp)
    assert "client_secret" not in form


@pytest.mark.parametrize("provider", ["posted", "plain"])
def test_client_secret_post_sends_the_secret_in_the_form(client, fake_idp, provider):
    assert fake_idp.sign_in(client, provider=provider).headers["Location"] == "/"
    assert fake_idp.client_auths == ["client_secret_post"]
    [form] = token_requests(fake_idp)
    assert form["client_secret"] == f"{provider}-secret"
    [token_call] = [c for c in fake_idp.rsps.calls if c.request.url.endswith("token")]
    assert "Authorization" not in token_call.request.headers


def test_the_configured_method_wins_and_a_provider_refuses_another(client, fake_idp):
    # As idpyoidc does: a client registered for one method gets "invalid_client" for another.
    fake_idp.accept_auth_methods("posted", "client_secret_basic")
    resp = fake_idp.sign_in(client, provider="posted")
    assert resp.headers["Location"].startswith("/login")
    assert fake_idp.client_auths == ["client_secret_post"]
    assert "posted refused the sign-in (this client authenticates with client_secret_basic" in (
        client.get("/login").get_data(as_text=True)
    )


def test_the_only_secret_method_discovery_lists_is_used(client, fake_idp):
    # We hold no private key for it, so private_key_jwt is not a method we support here.
    fake_idp.accept_auth_methods("company", "client_secret_post", "private_key_jwt")
    assert fake_idp.sign_in(client, provider="company").headers["Location"] == "/"
    assert fake_idp.client_auths == ["client_secret_post"]


def test_discovery_listing_both_secret_methods_keeps_basic(client, fake_idp):
    fake_idp.accept_auth_methods("company", "client_secret_post", "client_secret_basic")
    assert fake_idp.sign_in(client, provider="company").headers["Location"] == "/"
    assert fake_idp.client_auths == ["client_secret_basic"]


@pytest.mark.parametrize(("provider", "alg"), [("rsa", "RS256"), ("ec", "ES256")])
def test_private_key_jwt_signs_an_assertion_the_provider_checks(client, fake_idp, provider, alg):
    assert fake_idp.sign_in(client, provider=provider).headers["Location"] == "/"
    assert fake_idp.client_auths == ["private_key_jwt"]
    [form] = token_requests(fake_idp)
    assert "client_secret" not in form
    keys = KeySet.import_key_set(client.get("/auth/jwks.json").get_json())
    token = jwt.decode(form["client_assertion"], keys, algorithms=[alg])
    assert token.header["alg"] == alg
    claims = token.claims
    assert claims["iss"] == claims["sub"] == f"{provider}-id"
    assert claims["aud"] == f"https://{provider}.example.com/token"
    assert 0 < claims["exp"] - claims["iat"] <= 60
    # Signing in again makes a new assertion: the provider would refuse a replayed jti.
    again = fake_idp.sign_in(fake_idp.app.test_client(), provider=provider, email="bob@example.org")
    assert again.headers["Location"] == "/"
    assert fake_idp.client_auths == ["private_key_jwt"] * 2


def test_jwks_publishes_only_public_keys_by_thumbprint(client):
    resp = client.get("/auth/jwks.json")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "public, max-age=3600"
    keys = resp.get_json()["keys"]
    assert {k["kid"] for k in keys} == {RSA_KEY.thumbprint(), EC_KEY.thumbprint()}
    assert {(k["kty"], k["alg"], k["use"]) for k in keys} == {
        ("RSA", "RS256", "sig"),
        ("EC", "ES256", "sig"),
    }
    for key in keys:
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_an_assertion_signed_with_an_unpublished_key_is_refused(client, fake_idp, app):
    oauth = app.extensions["authlib.integrations.flask_client"]
    [auth] = oauth.create_client("rsa").client_auth_methods
    auth.key = RSAKey.generate_key(2048)  # not the key /auth/jwks.json publishes
    resp = fake_idp.sign_in(client, provider="rsa")
    assert resp.headers["Location"].startswith("/login")
    assert fake_idp.client_auths == ["private_key_jwt"]


def short_rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return pem.decode()


PEM_PROBLEMS = [
    ("not a key", "not a PEM private key"),
    (RSA_KEY.as_pem(private=False).decode(), "this is a public key"),
    (short_rsa_pem(), "at least 2048 bits"),
    (ECKey.generate_key("P-384").as_pem(private=True).decode(), "must be on P-256"),
]


@pytest.mark.parametrize(("pem", "problem"), PEM_PROBLEMS)
def test_a_bad_private_key_stops_start_up_with_one_line(tmp_path, pem, problem):
    path = tmp_path / "providers.toml"
    path.write_text(
        textwrap.dedent("""
        [providers.sso]
        issuer = "https://sso.example.com"
        client_id = "id"
        token_endpoint_auth_method = "private_key_jwt"
        private_key = "${PEM}"
        """)
    )
    message = config_error(path, {"PEM": pem})
    assert message.startswith(f"{path}: [providers.sso] private_key: ")
    assert problem in message


def config_error(path, environ) -> str:
    from microblog.config import ConfigError
    from microblog.identity.providers import load_providers

    with pytest.raises(ConfigError) as exc:
        load_providers(path, environ)
    message = str(exc.value)
    assert "\n" not in message
    return message


TABLE_PROBLEMS = [
    (
        'client_secret = "s"\ntoken_endpoint_auth_method = "client_secret_jwt"',
        "token_endpoint_auth_method: 'client_secret_jwt' is not one of client_secret_basic, "
        "client_secret_post, private_key_jwt",
    ),
    (
        'client_secret = "s"\nprivate_key = "${PEM}"',
        'private_key: used only with token_endpoint_auth_method = "private_key_jwt"',
    ),
    ('token_endpoint_auth_method = "private_key_jwt"', "private_key: missing"),
    ('token_endpoint_auth_method = "client_secret_post"', "client_secret: missing"),
]


@pytest.mark.parametrize(("lines", "problem"), TABLE_PROBLEMS)
def test_client_auth_mistakes_stop_start_up_with_one_line(tmp_path, lines, problem):
    path = tmp_path / "providers.toml"
    table = f'[providers.sso]\nissuer = "https://sso.example.com"\nclient_id = "id"\n{lines}\n'
    path.write_text(table)
    message = config_error(path, {"PEM": RSA_KEY.as_pem(private=True).decode()})
    assert message.startswith(f"{path}: [providers.sso] {problem}")


# --- against oidc-provider-mock, whose registered clients use exactly one method ----------


@pytest.fixture
def registered_post_client(idp, server):
    """A client registered at oidc-provider-mock for client_secret_post only."""
    import requests

    resp = requests.post(
        f"{idp.url}/oauth2/clients",
        json={
            "redirect_uris": [f"{server.url}/auth/{live.MOCK_PROVIDER}/callback"],
            "token_endpoint_auth_method": "client_secret_post",
        },
        timeout=10,
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.mark.parametrize(("method", "works"), [("client_secret_post", True), (None, False)])
@live.MOCK_WARNINGS
def test_oidc_provider_mock_checks_the_method(
    idp, server, database_url, tmp_path, registered_post_client, method, works
):
    from microblog import create_app
    from microblog.extensions import db

    registered = registered_post_client
    toml = (
        f'[providers.{live.MOCK_PROVIDER}]\nissuer = "{idp.issuer}"\n'
        f'client_id = "{registered["client_id"]}"\n'
        f'client_secret = "{registered["client_secret"]}"\n'
    )
    if method:
        toml += f'token_endpoint_auth_method = "{method}"\n'
    path = tmp_path / "providers.toml"
    path.write_text(toml)
    app = server.app = create_app(base_config(database_url, MICROBLOG_PROVIDERS=str(path)))
    try:
        with live.Visitor(server.url) as visitor:
            page = visitor.sign_in(idp.new_person())
        assert (visitor.path(page) == "/") is works
        if not works:  # its discovery lists no methods, so we send Basic, and it refuses
            assert "refused the sign-in" in page.text
    finally:
        server.app = None
        with app.app_context():
            db.engine.dispose()
