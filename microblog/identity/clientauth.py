"""How we prove who we are at a token endpoint: a shared secret, or a JWT signed with our key.

`private_key_jwt` (OpenID Connect Core 9, RFC 7523) signs a short assertion with a key the
provider never sees; it finds the public half at `/auth/jwks.json` under the key's thumbprint.
"""

from __future__ import annotations

import functools
import time
import warnings
from typing import TYPE_CHECKING, Any

from authlib.common.urls import add_params_to_qs
from authlib.oauth2.rfc7523 import private_key_jwt_sign
from joserfc import jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, RSAKey

from ..config import ConfigError

if TYPE_CHECKING:
    from .providers import Provider

BASIC, POST, PRIVATE_KEY_JWT = "client_secret_basic", "client_secret_post", "private_key_jwt"
AUTH_METHODS = (BASIC, POST, PRIVATE_KEY_JWT)
SigningKey = RSAKey | ECKey
# An assertion is used once, within seconds of being made.
ASSERTION_LIFETIME = 60


def signing_key(where: str, pem: str) -> SigningKey:
    """Read a PEM private key (RSA of 2048 bits or more, or EC P-256), or raise ConfigError."""
    try:
        return _import_key(pem)
    except (JoseError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"{where} private_key: not a PEM private key (RSA, or EC P-256): "
            f"{str(exc).splitlines()[0][:120]}"
        ) from None


@functools.cache
def _import_key(pem: str) -> SigningKey:
    # Environment variables often carry a PEM on one line, its newlines written as "\n".
    text = pem.replace("\\n", "\n").strip()
    key: SigningKey
    try:
        with warnings.catch_warnings():  # joserfc warns of a short key; we refuse it below
            warnings.simplefilter("ignore", SecurityWarning)
            key = RSAKey.import_key(text)
        if key.raw_value.key_size < 2048:
            raise ValueError("an RSA key needs at least 2048 bits")
    except JoseError:
        key = ECKey.import_key(text)
        if key.curve_name != "P-256":
            raise ValueError(f"an EC key must be on P-256 (ES256), not {key.curve_name}") from None
    if not key.is_private:
        raise ValueError("this is a public key; give the private key")
    return key


def algorithm(key: SigningKey) -> str:
    """The JWS algorithm our assertions are signed with: RS256 or ES256."""
    return "RS256" if isinstance(key, RSAKey) else "ES256"


def key_id(key: SigningKey) -> str:
    """The key's RFC 7638 thumbprint: stable, and derived from the public key only."""
    return key.thumbprint()


def public_jwks(providers: list[Provider]) -> dict[str, Any]:
    """The public keys of every ready provider that uses private_key_jwt, each listed once."""
    keys: dict[str, dict[str, Any]] = {}
    for p in providers:
        if p.ready and p.token_endpoint_auth_method == PRIVATE_KEY_JWT:
            key = _import_key(p.private_key)
            public = key.as_dict(private=False)
            keys[key_id(key)] = {**public, "kid": key_id(key), "alg": algorithm(key), "use": "sig"}
    return {"keys": list(keys.values())}


def choose_method(p: Provider, metadata: dict[str, Any]) -> str:
    """The configured method; else the only secret method discovery lists; else Basic."""
    if p.token_endpoint_auth_method:
        return p.token_endpoint_auth_method
    listed = metadata.get("token_endpoint_auth_methods_supported")
    usable = [m for m in listed if m in (BASIC, POST)] if isinstance(listed, list) else []
    return usable[0] if len(usable) == 1 else BASIC


def registration(p: Provider) -> dict[str, Any]:
    """The client-auth arguments of Authlib's register() for p (discovery may refine them)."""
    auth: list[Any] = []
    if p.team_id and p.key_id:  # Apple: the client secret is a JWT we sign
        auth = [SignedClientSecret(_import_key(p.private_key), p.team_id, p.key_id, p.issuer)]
    elif p.private_key:
        auth = [PrivateKeyJWT(_import_key(p.private_key))]
    return {
        "client_kwargs": {"token_endpoint_auth_method": choose_method(p, {})},
        "client_auth_methods": auth,
    }


class PrivateKeyJWT:
    """Authlib client auth for private_key_jwt, signing with our key (not the client secret)."""

    name = PRIVATE_KEY_JWT

    def __init__(self, key: SigningKey):
        self.key = key

    def __call__(
        self, auth: Any, method: str, uri: str, headers: dict[str, str], body: str
    ) -> tuple[str, dict[str, str], str]:
        assertion = private_key_jwt_sign(
            self.key,
            client_id=auth.client_id,
            token_endpoint=uri,
            alg=algorithm(self.key),
            header={"kid": key_id(self.key)},
            expires_in=ASSERTION_LIFETIME,
        )
        params = [
            ("client_id", auth.client_id),
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", assertion),
        ]
        return uri, headers, add_params_to_qs(body or "", params)


class SignedClientSecret:
    """Apple's client secret: an ES256 JWT from our team, made here and renewed before it ends.

    Apple accepts one for up to six months; ours live an hour, so a leaked one soon expires.
    """

    name = POST  # sent as client_secret_post, the one method Apple accepts
    LIFETIME = 3600
    RENEW_BEFORE = 300

    def __init__(self, key: SigningKey, team_id: str, key_id: str, audience: str | None):
        self.key, self.team_id, self.key_id = key, team_id, key_id
        self.audience = audience or "https://appleid.apple.com"
        self._secret, self._expires = "", 0.0

    def secret(self, client_id: str) -> str:
        """The current client secret, made anew when less than RENEW_BEFORE seconds remain."""
        now = time.time()
        if now > self._expires - self.RENEW_BEFORE:
            claims = {
                "iss": self.team_id,
                "sub": client_id,
                "aud": self.audience,
                "iat": int(now),
                "exp": int(now) + self.LIFETIME,
            }
            header = {"alg": "ES256", "kid": self.key_id}
            self._secret = jwt.encode(header, claims, self.key, algorithms=["ES256"])
            self._expires = now + self.LIFETIME
        return self._secret

    def __call__(
        self, auth: Any, method: str, uri: str, headers: dict[str, str], body: str
    ) -> tuple[str, dict[str, str], str]:
        params = [("client_id", auth.client_id), ("client_secret", self.secret(auth.client_id))]
        return uri, headers, add_params_to_qs(body or "", params)
