"""The kit's logout side: end_session_endpoint, the sign-out page, and logout tokens."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
import requests
from joserfc import jws, jwt
from joserfc.jwk import KeySet

from microblog.testing.logout import BACKCHANNEL_EVENT, logout_token
from microblog.testing.tokens import new_key


def test_discovery_publishes_end_session_and_back_channel_logout(fake_idp):
    metadata = requests.get(
        "https://accounts.google.com/.well-known/openid-configuration", timeout=5
    ).json()
    assert metadata["end_session_endpoint"] == "https://accounts.google.com/logout"
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True


def sign_out_url(id_token: str, **overrides: str) -> str:
    query = {
        "id_token_hint": id_token,
        "client_id": "google-client-id",
        "post_logout_redirect_uri": "http://localhost/auth/google/signed-out",
        "state": "the-state",
        **overrides,
    }
    return f"https://accounts.google.com/logout?{urlencode(query)}"


def an_id_token(fake_idp, key=None, **claims) -> str:
    body = {"iss": "https://accounts.google.com", "aud": "google-client-id", "sub": "s", **claims}
    key = key or fake_idp.key
    return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


def test_the_sign_out_page_hands_the_state_back(fake_idp):
    back = fake_idp.end_session(sign_out_url(an_id_token(fake_idp)))
    assert back == "/auth/google/signed-out?state=the-state"
    assert fake_idp.signed_out == [("google", "s")]


@pytest.mark.parametrize(
    "bent",
    [
        {"client_id": "someone-else"},
        {"post_logout_redirect_uri": "https://evil.example.com/auth/google/signed-out"},
    ],
)
def test_the_sign_out_page_checks_the_client_and_the_way_back(fake_idp, bent):
    with pytest.raises(AssertionError):
        fake_idp.end_session(sign_out_url(an_id_token(fake_idp), **bent))


def test_the_sign_out_page_takes_only_its_own_id_tokens(fake_idp):
    with pytest.raises(Exception):  # noqa: B017 - joserfc's BadSignatureError or a kid error
        fake_idp.end_session(sign_out_url(an_id_token(fake_idp, key=new_key())))
    with pytest.raises(AssertionError):
        fake_idp.end_session(sign_out_url(an_id_token(fake_idp, aud="another-client")))
    assert fake_idp.signed_out == []


def test_a_logout_token_as_the_spec_shows_it(app, fake_idp):
    p = app.extensions["microblog.providers"]["google"]
    raw = logout_token(fake_idp, p, sub="s", sid="sid-1")
    token = jwt.decode(raw, KeySet([fake_idp.key]), algorithms=["RS256"])
    assert token.header["typ"] == "logout+jwt"
    claims = token.claims
    assert claims["iss"] == p.issuer and claims["aud"] == p.client_id
    assert claims["events"] == {BACKCHANNEL_EVENT: {}}
    assert (claims["sub"], claims["sid"]) == ("s", "sid-1")
    assert claims["jti"] and claims["exp"] > claims["iat"] and "nonce" not in claims


def test_a_logout_token_bent_to_order(app, fake_idp):
    p = app.extensions["microblog.providers"]["google"]
    unsigned = logout_token(fake_idp, p, sub="s", sid=None, alg="none", events=None, nonce="n")
    assert unsigned.endswith(".")  # no signature
    compact = jws.extract_compact(unsigned.encode())
    assert compact.protected["alg"] == "none"
    claims = json.loads(compact.payload)
    assert "events" not in claims and claims["nonce"] == "n" and "sid" not in claims


def test_only_openid_providers_send_logout_tokens(app, fake_idp):
    with pytest.raises(AssertionError, match="no OpenID provider"):
        fake_idp.backchannel_logout(app, "github", sub="s")
