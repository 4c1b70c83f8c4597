"""The fake provider's endpoints for each kind: OpenID Connect, GitHub and plain OAuth 2.

One object per kind says where its authorization page is, which endpoints it serves beside
the shared token endpoint, and what its token answer adds (an ID token, for OpenID Connect).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from joserfc import jwt
from joserfc.jwk import RSAKey

from ..identity.providers import GITHUB, OAUTH2, OIDC, Provider
from .logout import logout_metadata
from .person import Grant
from .tokens import compact, id_token_claims, sign_id_token

#: What a fake endpoint answers: status, headers, body (or it raises, like a network would).
Reply = tuple[int, dict[str, str], str]
Endpoint = Callable[[requests.PreparedRequest], Reply]
Route = tuple[str, str, Endpoint]


@dataclass
class SignedUserInfo:
    """How the fake signs user info: claims to override, a forger's key, or no signature."""

    claims: dict[str, Any]
    key: RSAKey | None = None
    unsigned: bool = False

    def sign(self, p: Provider, claims: dict[str, Any], key: RSAKey) -> str:
        """The user-info JWT for these claims, as the provider (or a forger) signs it."""
        body = {**claims, "iss": p.issuer, "aud": p.client_id, **self.claims}
        if self.unsigned:
            return compact({"alg": "none"}, body)
        signer = self.key or key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, body, signer)


class FakeServer(Protocol):
    """What a kind needs of the fake provider it serves for."""

    faults: set[str]
    key: RSAKey
    old_keys: list[RSAKey]
    userinfo_jwt: SignedUserInfo | None
    extra_claims: dict[str, Any]

    def grant_for(self, request: requests.PreparedRequest) -> Grant | None:
        """The grant behind the request's bearer token, or None."""
        ...

    def accepted_auth_methods(self, p: Provider) -> list[str]:
        """The client authentication methods the token endpoint accepts."""
        ...


class Kind(Protocol):
    """Where one kind of provider differs from the others."""

    def authorize_url(self, p: Provider) -> str:
        """The provider's authorization page, where the app sends the browser."""
        ...

    def token_url(self, p: Provider) -> str:
        """The provider's token endpoint."""
        ...

    def routes(self, fake: FakeServer, p: Provider) -> list[Route]:
        """The endpoints besides the token endpoint: (method, URL, handler)."""
        ...

    def token_fields(self, fake: FakeServer, grant: Grant) -> dict[str, str]:
        """What the token answer carries besides the access token."""
        ...


class OpenIDConnect:
    """Discovery, keys, user info and a signed ID token, under the issuer."""

    def authorize_url(self, p: Provider) -> str:
        return f"{p.issuer}/authorize"

    def token_url(self, p: Provider) -> str:
        return f"{p.issuer}/token"

    def routes(self, fake: FakeServer, p: Provider) -> list[Route]:
        return [
            ("GET", _url(p.server_metadata_url), lambda r: self.discovery(fake, p)),
            ("GET", f"{p.issuer}/jwks", lambda r: self.jwks(fake)),
            ("GET", f"{p.issuer}/userinfo", lambda r: self.userinfo(fake, r)),
        ]

    def token_fields(self, fake: FakeServer, grant: Grant) -> dict[str, str]:
        if "no_id_token" in fake.faults:
            return {}
        p, faults = grant.provider, fake.faults
        claims = {**self.id_claims(fake, grant), **fake.extra_claims}
        return {"id_token": sign_id_token(claims, fake.key, faults, p.client_secret)}

    def id_claims(self, fake: FakeServer, grant: Grant) -> dict[str, Any]:
        """The ID token's claims, before signing (a preset changes them in testing/variants)."""
        return id_token_claims(grant.provider, grant.person, grant.nonce, fake.faults)

    def issuer(self, p: Provider) -> str | None:
        """The issuer discovery names."""
        return p.issuer

    def discovery(self, fake: FakeServer, p: Provider) -> Reply:
        if "discovery_down" in fake.faults:
            return 503, {}, "Service Unavailable"
        if "discovery_html" in fake.faults:
            return 200, {"Content-Type": "text/html"}, "<html>maintenance</html>"
        wrong = "discovery_wrong_issuer" in fake.faults
        return json_reply(
            {
                "issuer": "https://evil.example.com" if wrong else self.issuer(p),
                "authorization_endpoint": self.authorize_url(p),
                "token_endpoint": self.token_url(p),
                "userinfo_endpoint": f"{p.issuer}/userinfo",
                "jwks_uri": f"{p.issuer}/jwks",
                **logout_metadata(p),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                # Lists "none" and HS256 on purpose: the app must not take a provider's word for it.
                "id_token_signing_alg_values_supported": ["RS256", "none", "HS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": fake.accepted_auth_methods(p),
            }
        )

    def jwks(self, fake: FakeServer) -> Reply:
        if "jwks_500" in fake.faults:
            return 500, {}, "boom"
        keys = [k.as_dict(private=False) for k in [*fake.old_keys, fake.key]]
        return json_reply({"keys": keys})

    def userinfo(self, fake: FakeServer, request: requests.PreparedRequest) -> Reply:
        if "userinfo_timeout" in fake.faults:
            raise requests.exceptions.ConnectTimeout("fake provider: userinfo timed out")
        if "userinfo_500" in fake.faults:
            return 500, {}, "boom"
        grant = fake.grant_for(request)
        if grant is None:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, ""
        body = grant.person.claims()
        if "userinfo_sub_mismatch" in fake.faults:
            body["sub"] = "someone-else"
        if fake.userinfo_jwt is not None:
            signed = fake.userinfo_jwt.sign(grant.provider, body, fake.key)
            return 200, {"Content-Type": "application/jwt"}, signed
        return json_reply(body)


class GitHub:
    """GitHub's OAuth app flow: the profile from /user, the email from /user/emails."""

    def authorize_url(self, p: Provider) -> str:
        return _url(p.authorize_url)

    def token_url(self, p: Provider) -> str:
        return _url(p.token_url)

    def routes(self, fake: FakeServer, p: Provider) -> list[Route]:
        api = _url(p.api_base_url)
        return [
            ("GET", f"{api}user", lambda r: self.user(fake, r)),
            ("GET", f"{api}user/emails", lambda r: self.emails(fake, r)),
        ]

    def token_fields(self, fake: FakeServer, grant: Grant) -> dict[str, str]:
        return {}

    def user(self, fake: FakeServer, request: requests.PreparedRequest) -> Reply:
        grant = fake.grant_for(request)
        if grant is None:
            return json_reply({"message": "Bad credentials"}, 401)
        person = grant.person
        github_id = int(hashlib.sha256(person.subject.encode()).hexdigest()[:8], 16)
        return json_reply(
            {
                "id": github_id,
                "login": (person.email or "octo").split("@")[0],
                "name": person.name,
                "email": None,
                "avatar_url": person.picture or "https://avatars.example.com/u/1",
            }
        )

    def emails(self, fake: FakeServer, request: requests.PreparedRequest) -> Reply:
        grant = fake.grant_for(request)
        if grant is None:
            return json_reply({"message": "Bad credentials"}, 401)
        person = grant.person
        if person.github_emails is not None:
            return json_reply(person.github_emails)
        if not person.email:
            return json_reply([])
        primary = {"email": person.email, "primary": True, "verified": person.email_verified,
                   "visibility": "private"}  # fmt: skip
        return json_reply([primary])


class PlainOAuth2:
    """An OAuth 2 provider with a JSON user-info endpoint and no OpenID Connect."""

    def authorize_url(self, p: Provider) -> str:
        return _url(p.authorize_url)

    def token_url(self, p: Provider) -> str:
        return _url(p.token_url)

    def routes(self, fake: FakeServer, p: Provider) -> list[Route]:
        return [("GET", _url(p.userinfo_url), lambda r: self.userinfo(fake, r))]

    def token_fields(self, fake: FakeServer, grant: Grant) -> dict[str, str]:
        return {}

    def userinfo(self, fake: FakeServer, request: requests.PreparedRequest) -> Reply:
        grant = fake.grant_for(request)
        if grant is None:
            return 401, {}, ""
        person = grant.person
        profile = {"id": person.subject, "email": person.email,
                   "email_verified": person.email_verified, "name": person.name}  # fmt: skip
        return json_reply(profile)


KINDS: dict[str, Kind] = {OIDC: OpenIDConnect(), GITHUB: GitHub(), OAUTH2: PlainOAuth2()}


def kind_of(p: Provider) -> Kind:
    """The fake's object for this provider's kind."""
    return KINDS[p.kind]


def json_reply(body: Any, status: int = 200) -> Reply:
    """Answer with a JSON body."""
    return status, {"Content-Type": "application/json"}, json.dumps(body)


def _url(value: str | None) -> str:
    # providers.load_providers fills in every URL of the provider's kind.
    assert value, "the provider has no URL for this endpoint"
    return value
