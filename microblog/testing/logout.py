"""The fake provider's side of logout: its sign-out page (RP-Initiated Logout 1.0) and the
logout tokens it posts to the app (Back-Channel Logout 1.0), well-formed or bent to order."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from flask import Flask, url_for
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from werkzeug.test import TestResponse

from ..identity.providers import OIDC, Provider
from .tokens import compact

if TYPE_CHECKING:
    from .fake_idp import FakeIdP

#: The event a back-channel logout token must carry.
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def logout_metadata(p: Provider) -> dict[str, Any]:
    """What discovery says about logout: a sign-out page, and back-channel logout by session."""
    return {
        "end_session_endpoint": f"{p.issuer}/logout",
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


def end_session(fake: FakeIdP, location: str) -> str:
    """Play the provider's sign-out page; return where it sends the browser back (path+query).

    It checks what a provider checks: our client id, an ID token it issued to us as the hint,
    and a post-logout redirect URI on the app; it hands back the app's `state` unchanged.
    """
    providers = fake.app.extensions["microblog.providers"].values()
    p = next((p for p in providers if location.startswith(f"{p.issuer}/logout?")), None)
    assert p is not None, f"{location} is not a fake provider's sign-out URL"
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query.get("client_id") == p.client_id
    keys = KeySet([*fake.old_keys, fake.key])
    hint = jwt.decode(query["id_token_hint"], keys, algorithms=["RS256"]).claims
    assert (hint["iss"], hint["aud"]) == (p.issuer, p.client_id), "not our ID token"
    back = urlsplit(query["post_logout_redirect_uri"])
    with fake.app.test_request_context():  # the URI registered: the app's own, for this provider
        registered = urlsplit(url_for("auth.signed_out", name=p.name, _external=True))
    assert (back.hostname, back.path) == (registered.hostname, registered.path), back
    fake.signed_out.append((p.name, hint["sub"]))
    params = {"state": query["state"]} if "state" in query else {}
    return f"{back.path}?{urlencode(params)}"


def logout_token(
    fake: FakeIdP,
    p: Provider,
    sub: str | None,
    sid: str | None,
    alg: str = "RS256",
    key: RSAKey | None = None,
    **changes: Any,
) -> str:
    """A logout token for sub and/or sid, signed with alg (by `key`, if given, under the
    provider's key id: an impostor); a change of None drops that claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": p.issuer,
        "aud": p.client_id,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(12),
        "events": {BACKCHANNEL_EVENT: {}},
    }
    claims.update({k: v for k, v in (("sub", sub), ("sid", sid)) if v is not None})
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    if alg == "none":
        return compact({"alg": "none", "typ": "logout+jwt"}, claims)
    if alg == "HS256":  # "signed" with our own client secret, as an attacker could
        return compact({"alg": "HS256", "typ": "logout+jwt"}, claims, p.client_secret.encode())
    header = {"alg": alg, "kid": fake.key.kid, "typ": "logout+jwt"}
    return jwt.encode(header, claims, key or fake.key, algorithms=[alg])


def backchannel_logout(
    fake: FakeIdP,
    target: FlaskClient | Flask,
    provider: str = "google",
    sub: str | None = None,
    sid: str | None = None,
    **token: Any,
) -> TestResponse:
    """Post a logout token to the app as the provider's server would: no cookies, no CSRF.

    `token` bends it: alg="none" | "HS256" | "RS384", key=<another RSAKey>, aud=..., iss=...,
    events=None, nonce=..., jti="fixed" (twice, a replay), or any claim; None drops a claim.
    """
    app = target.application if isinstance(target, FlaskClient) else target
    p = app.extensions["microblog.providers"][provider]
    assert p.kind == OIDC, f"{provider} is no OpenID provider: it sends no logout tokens"
    raw = logout_token(fake, p, sub, sid, **token)
    url = f"/auth/{provider}/backchannel-logout"
    return app.test_client().post(url, data={"logout_token": raw})
