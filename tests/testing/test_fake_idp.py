"""FakeIdP's own promises: PKCE and client checks, single-use codes, keys, request counts."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from microblog.testing import Person

AUTHORIZE = "https://accounts.google.com/authorize"
TOKEN = "https://accounts.google.com/token"
JWKS = "https://accounts.google.com/jwks"
CALLBACK = "http://localhost/auth/google/callback"
CLIENT = ("google-client-id", "google-client-secret")


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_url(challenge: str, **overrides: str) -> str:
    """An authorization request as a client would send the browser with it."""
    query = {
        "client_id": CLIENT[0],
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid email profile",
        "state": "the-state",
        "nonce": "the-nonce",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    return f"{AUTHORIZE}?{urlencode(query)}"


def code_for(fake_idp, challenge: str, person: Person | None = None) -> str:
    callback = fake_idp.authorize(authorization_url(challenge), person)
    query = parse_qs(urlsplit(callback).query)
    assert urlsplit(callback).path == "/auth/google/callback"
    assert query["state"] == ["the-state"]
    return query["code"][0]


def redeem(code: str, verifier: str | None, auth=CLIENT, redirect_uri=CALLBACK):
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        form["code_verifier"] = verifier
    return requests.post(TOKEN, data=form, auth=auth, timeout=5)


def test_the_right_verifier_gets_tokens(fake_idp):
    verifier, challenge = pkce()
    answer = redeem(code_for(fake_idp, challenge), verifier)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 60
    claims = jwt.decode(body["id_token"], fake_idp.key).claims
    assert claims["nonce"] == "the-nonce"
    assert claims["aud"] == CLIENT[0]


@pytest.mark.parametrize("verifier", ["x" * 43, "", None])
def test_a_wrong_or_missing_verifier_is_refused(fake_idp, verifier):
    _, challenge = pkce()
    answer = redeem(code_for(fake_idp, challenge), verifier)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant", "error_description": "PKCE"}


def test_an_authorization_request_without_s256_is_an_error_in_the_app(fake_idp):
    with pytest.raises(AssertionError, match="the app must send PKCE S256"):
        fake_idp.authorize(authorization_url(pkce()[1], code_challenge_method="plain"))


def test_a_code_is_single_use_even_after_a_wrong_verifier(fake_idp):
    verifier, challenge = pkce()
    code = code_for(fake_idp, challenge)
    assert redeem(code, "y" * 43).status_code == 400
    assert redeem(code, verifier).json() == {"error": "invalid_grant"}


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"auth": ("google-client-id", "wrong")}, 401),
        ({"auth": ("github-client-id", "github-client-secret")}, 401),
        ({"redirect_uri": "http://localhost/auth/other/callback"}, 400),
    ],
)
def test_the_token_endpoint_checks_client_and_redirect_uri(fake_idp, change, status):
    verifier, challenge = pkce()
    answer = redeem(code_for(fake_idp, challenge), verifier, **change)
    assert answer.status_code == status


def test_a_code_of_one_provider_is_refused_by_another(fake_idp):
    verifier, challenge = pkce()
    code = code_for(fake_idp, challenge)
    answer = requests.post(
        "https://sso.example.com/realms/main/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
              "code_verifier": verifier},
        auth=("company-client-id", "company-client-secret"),
        timeout=5,
    )  # fmt: skip
    assert answer.json() == {"error": "invalid_grant"}


def test_rotate_keys_signs_with_a_new_key_and_publishes_both(client, fake_idp):
    assert fake_idp.sign_in(client, email="a@example.org").headers["Location"] == "/"
    old = fake_idp.key
    fake_idp.rotate_keys()
    assert fake_idp.key.kid != old.kid
    published = {k.kid for k in KeySet.import_key_set(requests.get(JWKS, timeout=5).json()).keys}
    assert published == {old.kid, fake_idp.key.kid}
    verifier, challenge = pkce()
    token = redeem(code_for(fake_idp, challenge), verifier).json()["id_token"]
    assert jwt.decode(token, fake_idp.key).header["kid"] == fake_idp.key.kid
    # The app, holding the old key set, signs the next person in all the same.
    assert fake_idp.sign_in(client, email="b@example.org").headers["Location"] == "/"


def test_requests_to_counts_by_host(fake_idp):
    assert fake_idp.requests_to("accounts.google.com") == 0
    requests.get(JWKS, timeout=5)
    requests.get(JWKS, timeout=5)
    requests.post(TOKEN, data={}, timeout=5)
    requests.get("https://api.github.com/user", timeout=5)
    assert fake_idp.requests_to("accounts.google.com") == 3
    assert fake_idp.requests_to("api.github.com") == 1
    assert fake_idp.requests_to("google.com") == 0  # a host, not a suffix
    assert fake_idp.requests_to("sso.example.com") == 0


def test_requests_to_sees_the_apps_requests(client, fake_idp):
    fake_idp.sign_in(client, provider="plain")
    assert fake_idp.requests_to("plain.example.net") == 2  # token, user info
    assert fake_idp.requests_to("accounts.google.com") == 0


def test_start_then_authorize_is_sign_in_in_two_steps(client, fake_idp):
    started = fake_idp.start(client, "google", remember=True, next="/explore")
    assert started.headers["Location"].startswith(f"{AUTHORIZE}?")
    callback = fake_idp.authorize(started.headers["Location"], Person(email="two@example.org"))
    done = client.get(callback)
    assert done.headers["Location"] == "/explore"
    assert client.get_cookie("remember_token") is not None


def test_authorize_without_a_person_uses_fake_idp_person(client, fake_idp):
    fake_idp.person = Person(email="default@example.org", sub="the-default")
    verifier, challenge = pkce()
    token = redeem(code_for(fake_idp, challenge), verifier).json()["id_token"]
    claims = jwt.decode(token, fake_idp.key).claims
    assert (claims["sub"], claims["email"]) == ("the-default", "default@example.org")


def test_an_unknown_authorization_url_is_an_error(fake_idp):
    with pytest.raises(AssertionError, match="is not a fake provider's authorization URL"):
        fake_idp.authorize("https://elsewhere.example/authorize?client_id=x")
