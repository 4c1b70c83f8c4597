"""A fake identity provider on `responses`: every provider of an app, with faults to order."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import requests
import responses
from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import RSAKey
from werkzeug.test import TestResponse

from ..identity.providers import GITHUB, OIDC, Provider
from .client import csrf_token
from .tokens import id_token_claims, new_key, person_claims, s256, sign_id_token

#: Faults a test can switch on with `fake_idp.fail(...)`; each breaks one step of the flow.
FAULTS = frozenset(
    {
        "access_denied",  # the person clicks "Deny" at the provider
        "discovery_down",
        "discovery_wrong_issuer",
        "discovery_html",
        "token_500",
        "token_timeout",
        "token_html",
        "token_json_list",
        "token_error",
        "no_id_token",
        "bad_signature",
        "wrong_iss",
        "wrong_aud",
        "extra_aud",
        "wrong_azp",
        "wrong_nonce",
        "expired",
        "issued_in_future",
        "not_yet_valid",
        "alg_none",
        "alg_hs256",
        "key_in_header",
        "jwks_500",
        "userinfo_500",
        "userinfo_sub_mismatch",
        "userinfo_timeout",
        "wrong_iss_param",
        "google_short_iss",  # iss "accounts.google.com": Google's other documented spelling
    }
)


@dataclass
class Person:
    """Who signs in at the fake provider."""

    email: str | None = "ann@example.org"
    email_verified: bool = True
    name: str | None = "Ann Example"
    picture: str | None = None
    sub: str | None = None  # default: derived from the email, stable across sign-ins
    #: GitHub only: the /user/emails list; default: the email as the primary entry.
    github_emails: list[dict[str, Any]] | None = None

    @property
    def subject(self) -> str:
        if self.sub:
            return self.sub
        return hashlib.sha256((self.email or "anonymous").lower().encode()).hexdigest()[:20]


@dataclass
class _Grant:
    provider: Provider
    person: Person
    nonce: str | None
    code_challenge: str | None
    redirect_uri: str


@dataclass
class FakeIdP:
    """Fake endpoints for every ready provider of `app`, registered on `rsps`."""

    app: Flask
    rsps: responses.RequestsMock
    person: Person = field(default_factory=Person)
    faults: set[str] = field(default_factory=set)
    key: RSAKey = field(default_factory=lambda: new_key())
    old_keys: list[RSAKey] = field(default_factory=list)
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _tokens: dict[str, _Grant] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for p in self.app.extensions["microblog.providers"].values():
            if p.ready:
                self._serve(p)

    # --- what tests call ---------------------------------------------------------------

    def fail(self, *faults: str) -> None:
        """Make the provider misbehave in these ways from now on (see FAULTS)."""
        unknown = set(faults) - FAULTS
        assert not unknown, f"unknown fault(s) {unknown}; choose from {sorted(FAULTS)}"
        self.faults.update(faults)

    def recover(self) -> None:
        """Stop every fault: the provider works again."""
        self.faults.clear()

    def rotate_keys(self) -> None:
        """Sign with a new key from now on; the key set publishes both."""
        self.old_keys.append(self.key)
        self.key = new_key()

    def requests_to(self, host: str) -> int:
        """Count the HTTP requests the app has sent to a provider's host so far."""
        return sum(1 for call in self.rsps.calls if urlsplit(call.request.url).hostname == host)

    def start(
        self,
        client: FlaskClient,
        provider: str = "google",
        remember: bool = False,
        next: str | None = None,
    ) -> TestResponse:
        """Press "Sign in with ..." on the login page; returns the app's response."""
        data = {"csrf_token": csrf_token(client)}
        if remember:
            data["remember_me"] = "1"
        if next is not None:
            data["next"] = next
        return client.post(f"/login/{provider}", data=data)

    def sign_in(
        self,
        client: FlaskClient,
        email: str | None = "ann@example.org",
        provider: str = "google",
        remember: bool = False,
        next: str | None = None,
        **person: Any,
    ) -> TestResponse:
        """Sign `client` in through the app's real login and callback views.

        Returns the callback's response (a redirect on success, to /login on failure).
        Person fields (email_verified, name, picture, sub, github_emails) go in **person.
        """
        started = self.start(client, provider, remember=remember, next=next)
        p = self.app.extensions["microblog.providers"][provider]
        location = started.headers.get("Location", "")
        if not location.startswith(self._authorize_url(p)):
            return started  # the app refused to start (e.g. discovery failed)
        return client.get(self.authorize(location, Person(email=email, **person)))

    def authorize(self, location: str, person: Person | None = None) -> str:
        """Play the provider's authorization page; return the callback URL it redirects to."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        provider = self._provider_for(location)
        assert query["client_id"] == provider.client_id
        assert query["response_type"] == "code"
        assert query.get("code_challenge_method") == "S256", "the app must send PKCE S256"
        callback = urlsplit(query["redirect_uri"])
        params: dict[str, str] = {"state": query["state"]}
        if "access_denied" in self.faults:
            params = {"error": "access_denied", "error_description": "The user denied access."}
            params["state"] = query["state"]
        else:
            code = secrets.token_urlsafe(16)
            self._grants[code] = _Grant(
                provider,
                person or self.person,
                query.get("nonce"),
                query.get("code_challenge"),
                query["redirect_uri"],
            )
            params["code"] = code
            if "wrong_iss_param" in self.faults:
                params["iss"] = "https://evil.example.com"
        return f"{callback.path}?{urlencode(params)}"

    # --- the fake endpoints ------------------------------------------------------------

    def _serve(self, p: Provider) -> None:
        add = self.rsps.add_callback
        if p.kind == OIDC:
            add("GET", p.server_metadata_url, lambda r: self._discovery(p))
            add("GET", f"{p.issuer}/jwks", lambda r: self._jwks())
            add("GET", f"{p.issuer}/userinfo", lambda r: self._userinfo(r, p))
            add("POST", f"{p.issuer}/token", lambda r: self._token(r, p))
        elif p.kind == GITHUB:
            add("POST", p.token_url, lambda r: self._token(r, p))
            add("GET", f"{p.api_base_url}user", lambda r: self._github_user(r))
            add("GET", f"{p.api_base_url}user/emails", lambda r: self._github_emails(r))
        else:
            add("POST", p.token_url, lambda r: self._token(r, p))
            add("GET", p.userinfo_url, lambda r: self._plain_userinfo(r))

    def _authorize_url(self, p: Provider) -> str:
        return f"{p.issuer}/authorize" if p.kind == OIDC else str(p.authorize_url)

    def _provider_for(self, location: str) -> Provider:
        for p in self.app.extensions["microblog.providers"].values():
            if p.ready and location.startswith(self._authorize_url(p) + "?"):
                return p
        raise AssertionError(f"{location} is not a fake provider's authorization URL")

    def _discovery(self, p: Provider) -> tuple[int, dict[str, str], str]:
        if "discovery_down" in self.faults:
            return 503, {}, "Service Unavailable"
        if "discovery_html" in self.faults:
            return 200, {"Content-Type": "text/html"}, "<html>maintenance</html>"
        issuer = "https://evil.example.com" if "discovery_wrong_issuer" in self.faults else p.issuer
        return _json(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{p.issuer}/authorize",
                "token_endpoint": f"{p.issuer}/token",
                "userinfo_endpoint": f"{p.issuer}/userinfo",
                "jwks_uri": f"{p.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                # Lists "none" and HS256 on purpose: the app must not take a provider's word for it.
                "id_token_signing_alg_values_supported": ["RS256", "none", "HS256"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    def _jwks(self) -> tuple[int, dict[str, str], str]:
        if "jwks_500" in self.faults:
            return 500, {}, "boom"
        keys = [k.as_dict(private=False) for k in [*self.old_keys, self.key]]
        return _json({"keys": keys})

    def _token(self, request: Any, p: Provider) -> Any:
        if "token_timeout" in self.faults:
            raise requests.exceptions.ReadTimeout("fake provider: token endpoint timed out")
        if "token_500" in self.faults:
            return 500, {}, "Internal Server Error"
        if "token_html" in self.faults:
            return 200, {"Content-Type": "text/html"}, "<html><body>Oops</body></html>"
        if "token_json_list" in self.faults:
            return _json(["not", "an", "object"])
        if "token_error" in self.faults:
            return _json({"error": "invalid_grant", "error_description": "Code expired."}, 400)
        form = {k: v[0] for k, v in parse_qs(request.body or "").items()}
        client_id, secret = _client_credentials(request, form)
        if client_id != p.client_id or not hmac.compare_digest(secret or "", p.client_secret):
            return _json({"error": "invalid_client"}, 401)
        grant = self._grants.pop(form.get("code", ""), None)  # single use
        if grant is None or grant.provider.name != p.name:
            return _json({"error": "invalid_grant"}, 400)
        if form.get("redirect_uri") != grant.redirect_uri:
            return _json({"error": "invalid_grant", "error_description": "redirect_uri"}, 400)
        if grant.code_challenge and s256(form.get("code_verifier", "")) != grant.code_challenge:
            return _json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        access_token = secrets.token_urlsafe(24)
        self._tokens[access_token] = grant
        body = {"access_token": access_token, "token_type": "Bearer", "expires_in": 3600}
        if p.kind == OIDC and "no_id_token" not in self.faults:
            body["id_token"] = self._id_token(grant)
        return _json(body)

    def _id_token(self, grant: _Grant) -> str:
        claims = id_token_claims(grant.provider, grant.person, grant.nonce, self.faults)
        return sign_id_token(claims, self.key, self.faults, grant.provider.client_secret)

    def _bearer(self, request: Any) -> _Grant | None:
        auth = request.headers.get("Authorization", "")
        return self._tokens.get(auth.removeprefix("Bearer ").strip())

    def _userinfo(self, request: Any, p: Provider) -> Any:
        if "userinfo_timeout" in self.faults:
            raise requests.exceptions.ConnectTimeout("fake provider: userinfo timed out")
        if "userinfo_500" in self.faults:
            return 500, {}, "boom"
        grant = self._bearer(request)
        if grant is None:
            return 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}, ""
        body = person_claims(grant.person)
        if "userinfo_sub_mismatch" in self.faults:
            body["sub"] = "someone-else"
        return _json(body)

    def _github_user(self, request: Any) -> Any:
        grant = self._bearer(request)
        if grant is None:
            return _json({"message": "Bad credentials"}, 401)
        person = grant.person
        github_id = int(hashlib.sha256(person.subject.encode()).hexdigest()[:8], 16)
        return _json(
            {
                "id": github_id,
                "login": (person.email or "octo").split("@")[0],
                "name": person.name,
                "email": None,
                "avatar_url": person.picture or "https://avatars.example.com/u/1",
            }
        )

    def _github_emails(self, request: Any) -> Any:
        grant = self._bearer(request)
        if grant is None:
            return _json({"message": "Bad credentials"}, 401)
        person = grant.person
        if person.github_emails is not None:
            return _json(person.github_emails)
        if not person.email:
            return _json([])
        return _json(
            [
                {
                    "email": person.email,
                    "primary": True,
                    "verified": person.email_verified,
                    "visibility": "private",
                }
            ]
        )

    def _plain_userinfo(self, request: Any) -> Any:
        grant = self._bearer(request)
        if grant is None:
            return 401, {}, ""
        person = grant.person
        return _json(
            {
                "id": person.subject,
                "email": person.email,
                "email_verified": person.email_verified,
                "name": person.name,
            }
        )


def _client_credentials(request: Any, form: dict[str, str]) -> tuple[str | None, str | None]:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Basic "):
        client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        return unquote(client_id), unquote(secret)  # RFC 6749 2.3.1: form-encoded, then Basic
    return form.get("client_id"), form.get("client_secret")


def _json(body: Any, status: int = 200) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/json"}, json.dumps(body)
