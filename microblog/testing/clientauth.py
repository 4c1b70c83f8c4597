"""How the fake provider checks the app's client authentication at its token endpoint.

Like a real provider registered for one method (idpyoidc, say), it refuses any other:
`client_secret_basic`, `client_secret_post`, or `private_key_jwt`, whose assertion it checks
against the public keys the app publishes at /auth/jwks.json.
"""

from __future__ import annotations

import base64
import hmac
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import requests
from flask import Flask
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..identity.providers import Provider

BASIC, POST, PRIVATE_KEY_JWT = "client_secret_basic", "client_secret_post", "private_key_jwt"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Decides whether a client secret is the right one (Apple's is a JWT the app makes).
SecretCheck = Callable[[Provider, str], bool]


def method_used(request: requests.PreparedRequest, form: dict[str, str]) -> str:
    """The client authentication method a token request uses."""
    if request.headers.get("Authorization", "").startswith("Basic "):
        return BASIC
    if "client_assertion" in form:
        return PRIVATE_KEY_JWT
    return POST if "client_secret" in form else "none"


def client_auth_problem(
    app: Flask,
    p: Provider,
    request: requests.PreparedRequest,
    form: dict[str, str],
    accepted: list[str],
    seen_jti: set[str],
    secret_ok: SecretCheck | None = None,
) -> str | None:
    """Say why the token request's client authentication is refused, or return None."""
    method = method_used(request, form)
    if method not in accepted:
        return f"this client authenticates with {', '.join(accepted)}, not {method}"
    if method == PRIVATE_KEY_JWT:
        return _assertion_problem(app, p, form, str(request.url), seen_jti)
    client_id, secret = _credentials(request, form)
    if client_id != p.client_id:
        return "unknown client_id"
    if secret_ok is not None:
        return None if secret_ok(p, secret or "") else "wrong client secret"
    return None if hmac.compare_digest(secret or "", p.client_secret) else "wrong client secret"


def _credentials(
    request: requests.PreparedRequest, form: dict[str, str]
) -> tuple[str | None, str | None]:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        return unquote(client_id), unquote(secret)  # RFC 6749 2.3.1: form-encoded, then Basic
    return form.get("client_id"), form.get("client_secret")


def _assertion_problem(
    app: Flask, p: Provider, form: dict[str, str], token_url: str, seen_jti: set[str]
) -> str | None:
    """Check a private_key_jwt assertion (RFC 7523 3) as a provider would."""
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        return "client_assertion_type is not jwt-bearer"
    if "client_secret" in form:
        return "a client secret came with the assertion"
    try:
        token = jwt.decode(form["client_assertion"], _app_keys(app), algorithms=["RS256", "ES256"])
    except (JoseError, ValueError) as exc:
        return f"assertion does not verify with the app's published keys: {exc}"
    claims: dict[str, Any] = token.claims
    if claims.get("iss") != p.client_id or claims.get("sub") != p.client_id:
        return "assertion iss and sub must be the client id"
    if claims.get("aud") not in (token_url, [token_url]):
        return f"assertion aud {claims.get('aud')!r} is not the token endpoint"
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp < time.time() or exp > time.time() + 600:
        return "assertion exp is missing, past, or too far ahead"
    jti = claims.get("jti")
    if not isinstance(jti, str) or jti in seen_jti:
        return "assertion jti is missing or was used before"
    seen_jti.add(jti)
    return None


def _app_keys(app: Flask) -> KeySet:
    """Fetch the app's published keys, as a provider fetches the jwks_uri registered for it."""
    # A fresh client: the app is in the middle of the request that sent this token request.
    response = app.test_client().get("/auth/jwks.json")
    assert response.status_code == 200, f"/auth/jwks.json answered {response.status_code}"
    return KeySet.import_key_set(response.get_json())
