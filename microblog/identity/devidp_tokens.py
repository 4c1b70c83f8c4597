"""The development provider's key, codes and tokens: what it signs, and the codes it has seen."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from flask import current_app, request
from itsdangerous import URLSafeTimedSerializer
from joserfc import jwt
from joserfc.jwk import RSAKey

from .providers import Provider

EXTENSION = "microblog.devidp"
ID_TOKEN_TTL = 300
VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 section 4.1
# What an authorization code remembers of its request, for the token endpoint to check.
GRANT_PARAMS = ("client_id", "redirect_uri", "scope", "nonce", "code_challenge")


@dataclass
class DevIdp:
    """One app's development provider: who it serves, its signing key and its spent codes."""

    provider: Provider
    issuer: str
    key: RSAKey
    used_codes: dict[str, float] = field(default_factory=dict)  # code id -> when it expires
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spend(self, code_id: str, ttl: float) -> bool:
        """Mark a code that lives `ttl` seconds as used; False if it already was.

        Memory is enough for `make run`'s single process; under several workers a code is
        single-use per worker only, which a development provider can live with.
        """
        now = time.time()
        with self.lock:
            for stale in [c for c, until in self.used_codes.items() if until < now]:
                del self.used_codes[stale]
            if code_id in self.used_codes:
                return False
            self.used_codes[code_id] = now + ttl + 1
            return True


def new_signing_key() -> RSAKey:
    """Make the provider's RS256 key, with a fresh key id."""
    return RSAKey.generate_key(
        2048, parameters={"kid": secrets.token_urlsafe(8), "use": "sig", "alg": "RS256"}
    )


def get_idp() -> DevIdp:
    """Return this app's development provider."""
    idp = current_app.extensions[EXTENSION]
    assert isinstance(idp, DevIdp), "devidp.init_app serves the provider only when it made one"
    return idp


def serializer(purpose: str) -> URLSafeTimedSerializer:
    """Sign and check codes and access tokens with the app's secret key."""
    salt = f"microblog.devidp.{purpose}"  # codes, tokens and sessions never pass for each other
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def issue_code(params: dict[str, str], email: str, name: str, verified: bool) -> str:
    """Sign a one-time code carrying the request and the person; nothing is stored."""
    grant = {k: params[k] for k in GRANT_PARAMS}
    return serializer("code").dumps(
        {**grant, "id": secrets.token_urlsafe(12), "email": email, "email_verified": verified,
         "name": name or None, "auth_time": int(time.time())}
    )  # fmt: skip


def client_authenticated(provider: Provider) -> bool:
    """Check client_secret_basic or client_secret_post credentials against the dev client."""
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        # RFC 6749 2.3.1: both halves are form-encoded before the Basic encoding.
        client_id, secret = unquote(auth.username or ""), unquote(auth.password or "")
    else:
        client_id = request.form.get("client_id", "")
        secret = request.form.get("client_secret", "")
    # registry.init_app filled these in: the configured values or microblog-dev and
    # dev_client_secret(app), the same the Authlib client sends.
    right_id = hmac.compare_digest(client_id.encode(), provider.client_id.encode())
    right_secret = hmac.compare_digest(secret.encode(), provider.client_secret.encode())
    return right_id and right_secret


def grant_problem(grant: dict[str, Any], provider: Provider) -> str | None:
    """Say why this code may not be redeemed by this request, or return None."""
    if grant["client_id"] != provider.client_id:
        return "the code was issued to another client"
    if request.form.get("redirect_uri") != grant["redirect_uri"]:
        return "redirect_uri differs from the authorization request's"
    verifier = request.form.get("code_verifier", "")
    if not VERIFIER_RE.match(verifier):
        return "code_verifier is missing or malformed"
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    if not hmac.compare_digest(challenge, grant["code_challenge"]):
        return "code_verifier does not match the code_challenge"
    return None


def user_claims(grant: dict[str, Any]) -> dict[str, Any]:
    """The person's claims; the same email always gets the same subject."""
    email: str = grant["email"]
    secret = current_app.config["SECRET_KEY"].encode()
    subject = hmac.new(secret, b"dev-idp-sub:" + email.lower().encode(), hashlib.sha256)
    return {
        "sub": subject.hexdigest()[:32],
        "email": email,
        "email_verified": grant["email_verified"],
        "name": grant["name"] or email.partition("@")[0],
        "preferred_username": email.partition("@")[0],
    }


def id_token(idp: DevIdp, grant: dict[str, Any], user: dict[str, Any]) -> str:
    """Sign the ID token for this grant (OpenID Connect Core 2)."""
    now = int(time.time())
    claims = {
        **user,
        "iss": idp.issuer,
        "aud": grant["client_id"],
        "azp": grant["client_id"],
        "exp": now + ID_TOKEN_TTL,
        "iat": now,
        "auth_time": grant["auth_time"],
        "nonce": grant["nonce"],
    }
    return jwt.encode({"alg": "RS256", "kid": idp.key.kid}, claims, idp.key)
