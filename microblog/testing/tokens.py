"""ID tokens as a provider signs them, and as a broken or hostile one would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Collection
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from ..identity.providers import Provider
from .person import Person

ATTACKER = "https://evil.example.com"


def id_token_claims(
    p: Provider, person: Person, nonce: str | None, faults: Collection[str]
) -> dict[str, Any]:
    """The claims of an ID token for `person`, bent by any claim faults switched on."""
    now = int(time.time())
    claims: dict[str, Any] = {
        **person.claims(),
        "iss": p.issuer,
        "aud": p.client_id,
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
    }
    bent: dict[str, dict[str, Any]] = {
        "wrong_iss": {"iss": ATTACKER},
        "google_short_iss": {"iss": "accounts.google.com"},
        "wrong_aud": {"aud": "someone-else"},
        "extra_aud": {"aud": [p.client_id, "someone-else"]},
        "wrong_azp": {"azp": "someone-else"},
        "wrong_nonce": {"nonce": "not-the-nonce"},
        "expired": {"iat": now - 7200, "exp": now - 3600},
        "issued_in_future": {"iat": now + 3600, "exp": now + 7200},
        "not_yet_valid": {"nbf": now + 3600},
    }
    for fault, changes in bent.items():
        if fault in faults:
            claims.update(changes)
    return claims


def sign_id_token(
    claims: dict[str, Any], key: RSAKey, faults: Collection[str], client_secret: str
) -> str:
    """Sign as the provider would, or as an attacker would for the signature faults."""
    header: dict[str, Any] = {"alg": "RS256", "kid": key.kid}
    if "alg_none" in faults:
        return compact({"alg": "none"}, claims)
    if "alg_hs256" in faults:  # "signed" with our own client secret, as an attacker could
        return compact({"alg": "HS256"}, claims, client_secret.encode())
    if "key_in_header" in faults:
        attacker = new_key()
        header = {**header, "kid": attacker.kid, "jwk": attacker.as_dict(private=False)}
        return jwt.encode(header, claims, attacker)
    if "bad_signature" in faults:  # the provider's key id, someone else's key
        stolen_kid: dict[str, Any] = {**new_key().as_dict(private=True), "kid": key.kid}
        impostor = RSAKey.import_key(stolen_kid)
        return jwt.encode(header, claims, impostor)
    return jwt.encode(header, claims, key)


def new_key() -> RSAKey:
    """A fresh RS256 signing key with a key id of its own."""
    return RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(4), "use": "sig"})


def s256(verifier: str) -> str:
    """The PKCE S256 challenge for a verifier (RFC 7636 4.2)."""
    return b64(hashlib.sha256(verifier.encode()).digest())


def b64(data: bytes) -> str:
    """Base64url without padding, as JOSE writes it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], hmac_key: bytes | None = None) -> str:
    """A compact JWS built by hand: unsigned, or HMAC-SHA256 (libraries refuse to make these)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = (
        hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest() if hmac_key else b""
    )
    return f"{signing_input}.{b64(signature)}"
