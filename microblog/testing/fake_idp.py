"""A fake identity provider on `responses`: every provider of an app, with faults to order."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
import responses
from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import RSAKey
from werkzeug.test import TestResponse

from ..identity.providers import Provider
from . import logout
from .client import csrf_token
from .clientauth import BASIC, client_auth_problem, method_used
from .kinds import Endpoint, Reply, SignedUserInfo, json_reply
from .person import Grant, Person
from .tokens import new_key, s256
from .variants import deliver, kind_of, secret_check

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
class FakeIdP:
    """Fake endpoints for every ready provider of `app`, registered on `rsps`."""

    app: Flask
    rsps: responses.RequestsMock
    person: Person = field(default_factory=Person)
    faults: set[str] = field(default_factory=set)
    key: RSAKey = field(default_factory=lambda: new_key())
    old_keys: list[RSAKey] = field(default_factory=list)
    _grants: dict[str, Grant] = field(default_factory=dict)
    _tokens: dict[str, Grant] = field(default_factory=dict)
    #: The client authentication method of each token request, in order (testing/clientauth).
    client_auths: list[str] = field(default_factory=list)
    _auth_methods: dict[str, list[str]] = field(default_factory=dict)
    #: Set by sign_userinfo(): user info answers as a signed JWT (testing/kinds.py).
    userinfo_jwt: SignedUserInfo | None = None
    #: Claims added to every ID token, replacing the standard ones (e.g. another tenant's iss).
    extra_claims: dict[str, Any] = field(default_factory=dict)
    _assertion_ids: set[str] = field(default_factory=set)
    #: (provider, subject) of everyone who authorized before: Apple sends the name once only.
    authorized_before: set[tuple[str, str]] = field(default_factory=set)
    #: (provider, sub) of each sign-out played by end_session().
    signed_out: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for p in self._providers():
            kind = kind_of(p)
            self.rsps.add_callback("POST", kind.token_url(p), self._token_endpoint(p))
            for method, url, endpoint in kind.routes(self, p):
                self.rsps.add_callback(method, url, endpoint)

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

    def accept_auth_methods(self, provider: str, *methods: str) -> None:
        """Let the provider's token endpoint accept only these methods; discovery lists them."""
        self._auth_methods[provider] = list(methods)

    def accepted_auth_methods(self, p: Provider) -> list[str]:
        """The methods the token endpoint accepts: as set, else the one the provider is set to."""
        return self._auth_methods.get(p.name) or [p.token_endpoint_auth_method or BASIC]

    def sign_userinfo(
        self, key: RSAKey | None = None, unsigned: bool = False, **claims: Any
    ) -> None:
        """Answer user info as a signed JWT (`application/jwt`), as OpenID Connect 5.3.2 allows.

        `claims` override the standard ones (iss, aud, sub...); `key` signs instead of the
        provider's key (a forgery); `unsigned` sends `alg: none`.
        """
        self.userinfo_jwt = SignedUserInfo(claims, key, unsigned)

    def requests_to(self, host: str) -> int:
        """Count the HTTP requests the app has sent to a provider's host so far."""
        urls = (call.request.url or "" for call in self.rsps.calls)
        return sum(1 for url in urls if urlsplit(url).hostname == host)

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
        if not location.startswith(kind_of(p).authorize_url(p)):
            return started  # the app refused to start (e.g. discovery failed)
        return self.answer(client, self.authorize(location, Person(email=email, **person)))

    def answer(self, client: FlaskClient, callback_url: str) -> TestResponse:
        """Bring the provider's answer to the callback as its browser would (GET, or form_post)."""
        provider = self._provider_for_callback(callback_url)
        return deliver(self, provider, client, callback_url)

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
            self._grants[code] = Grant(
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

    def grant(self, code: str) -> Grant | None:
        """The grant an authorization code stands for, while it is unused."""
        return self._grants.get(code)

    def end_session(self, location: str) -> str:
        """Play the provider's sign-out page (RP-Initiated Logout); return the way back."""
        return logout.end_session(self, location)

    def backchannel_logout(
        self,
        target: FlaskClient | Flask,
        provider: str = "google",
        sub: str | None = None,
        sid: str | None = None,
        **token: Any,
    ) -> TestResponse:
        """Post a signed logout token for sub and/or sid to the app (Back-Channel Logout)."""
        return logout.backchannel_logout(self, target, provider, sub, sid, **token)

    def grant_for(self, request: requests.PreparedRequest) -> Grant | None:
        """The grant behind the request's bearer token, or None (for the kinds' endpoints)."""
        auth = request.headers.get("Authorization", "")
        return self._tokens.get(auth.removeprefix("Bearer ").strip())

    # --- the shared token endpoint -----------------------------------------------------

    def _providers(self) -> list[Provider]:
        return [p for p in self.app.extensions["microblog.providers"].values() if p.ready]

    def _provider_for_callback(self, callback_url: str) -> Provider:
        name = urlsplit(callback_url).path.removeprefix("/auth/").partition("/")[0]
        provider: Provider = self.app.extensions["microblog.providers"][name]
        return provider

    def _provider_for(self, location: str) -> Provider:
        for p in self._providers():
            if location.startswith(kind_of(p).authorize_url(p) + "?"):
                return p
        raise AssertionError(f"{location} is not a fake provider's authorization URL")

    def _token_endpoint(self, p: Provider) -> Endpoint:
        return lambda request: self._token(request, p)

    def _token(self, request: requests.PreparedRequest, p: Provider) -> Reply:
        if "token_timeout" in self.faults:
            raise requests.exceptions.ReadTimeout("fake provider: token endpoint timed out")
        if "token_500" in self.faults:
            return 500, {}, "Internal Server Error"
        if "token_html" in self.faults:
            return 200, {"Content-Type": "text/html"}, "<html><body>Oops</body></html>"
        if "token_json_list" in self.faults:
            return json_reply(["not", "an", "object"])
        if "token_error" in self.faults:
            return json_reply({"error": "invalid_grant", "error_description": "Code expired."}, 400)
        body = request.body or ""
        text = body.decode() if isinstance(body, bytes) else body
        form = {k: v[0] for k, v in parse_qs(text).items()}
        self.client_auths.append(method_used(request, form))
        refused = client_auth_problem(
            self.app, p, request, form, self.accepted_auth_methods(p), self._assertion_ids,
            secret_check(p),
        )  # fmt: skip
        if refused:
            return json_reply({"error": "invalid_client", "error_description": refused}, 401)
        grant = self._grants.pop(form.get("code", ""), None)  # single use
        if grant is None or grant.provider.name != p.name:
            return json_reply({"error": "invalid_grant"}, 400)
        if form.get("redirect_uri") != grant.redirect_uri:
            return json_reply({"error": "invalid_grant", "error_description": "redirect_uri"}, 400)
        if grant.code_challenge and s256(form.get("code_verifier", "")) != grant.code_challenge:
            return json_reply({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        access_token = secrets.token_urlsafe(24)
        self._tokens[access_token] = grant
        answer = {"access_token": access_token, "token_type": "Bearer", "expires_in": 3600}
        return json_reply({**answer, **kind_of(p).token_fields(self, grant)})
