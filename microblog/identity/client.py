"""The Authlib client every provider gets: the checks Authlib leaves out, and one profile shape."""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import replace
from typing import Any

from authlib.integrations.flask_client import FlaskOAuth2App
from authlib.oidc.core import UserInfo
from flask import current_app, request
from joserfc import jws, jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet

from . import limits
from .clientauth import choose_method
from .http import BoundedSession
from .profiles import Profile, ProviderError, SignInError
from .providers import Provider
from .urls import url_problem
from .variants import kind_of

__all__ = ["Profile", "ProviderClient", "ProviderError", "SignInError"]

log = logging.getLogger(__name__)

# Header parameters that carry or point to a key: a token must never choose its own key.
KEY_HEADERS = ("jwk", "jku", "x5u", "x5c")


# Authlib ships no type information: this class is where our typed code meets it
# (pyproject.toml lets this module subclass it).
class ProviderClient(FlaskOAuth2App):
    """Authlib's Flask client with the issuer pinned and the ID token checked to the letter."""

    provider: Provider  # set by registry.init_app right after registration
    client_cls = BoundedSession  # a deadline and a size cap on every provider request
    _metadata_loaded: bool = False
    _jwks: dict[str, Any] | None = None
    _keys_refetched_at: float = float("-inf")

    def load_server_metadata(self) -> dict[str, Any]:
        """Fetch discovery once per process, refusing a document for another issuer."""
        url = self.provider.server_metadata_url
        if url and not self._metadata_loaded:
            document = self._fetch_document(url)
            check_metadata(self.provider, document)
            self.server_metadata.update(document)
            method = choose_method(self.provider, document)
            self.client_kwargs["token_endpoint_auth_method"] = method
            self._metadata_loaded = True
        metadata: dict[str, Any] = self.server_metadata
        return metadata

    def fetch_jwk_set(self, force: bool = False) -> dict[str, Any]:
        """Return the provider's keys; a forced re-fetch (unknown kid) at most once a minute."""
        if self._jwks is not None and not force:
            return self._jwks
        if force:
            now = time.monotonic()
            interval = current_app.config["JWKS_REFETCH_INTERVAL"]
            if now - self._keys_refetched_at < interval:
                raise ProviderError(
                    "ID token signed with an unknown key id (keys fetched recently)"
                )
            self._keys_refetched_at = now
        keys = self._fetch_document(self.load_server_metadata()["jwks_uri"])
        if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
            raise ProviderError("the key set is not a JSON object with a 'keys' list")
        self._jwks = keys
        return keys

    def _fetch_document(self, url: str) -> Any:
        """GET a public JSON document with the session class and timeout of every other call."""
        with self.client_cls(**self.client_kwargs) as session:
            resp = session.get(url, withhold_token=True)
            resp.raise_for_status()
            return _json_of(resp, url)

    def fetch_access_token(self, redirect_uri: str | None = None, **kwargs: Any) -> Any:
        """Trade the code for tokens; an answer that is no JSON object is the provider's fault."""
        try:
            return super().fetch_access_token(redirect_uri, **kwargs)
        except ValueError as exc:  # Authlib's (and requests') word for HTML or a JSON list
            raise ProviderError(f"the token endpoint answered no token: {exc}") from None

    def parse_id_token(self, token: dict[str, Any], nonce: str, **_: Any) -> UserInfo:
        """Verify the ID token: our algorithms, our keys, our issuer, our audience, our nonce."""
        claims = self.verified_claims(token["id_token"], "ID token")
        check_id_claims(self.provider, claims, nonce, current_app.config["OIDC_CLOCK_SKEW"])
        return UserInfo(claims)

    def verified_claims(self, raw: Any, what: str) -> dict[str, Any]:
        """Return the claims of a JWT signed by the provider with an algorithm we allow."""
        p = self.provider
        if isinstance(raw, str) and raw.count(".") == 4:
            raise ProviderError(f"{what} is encrypted (JWE), which we do not accept")
        try:
            header = jws.extract_compact(raw.encode()).protected
        except (ValueError, AttributeError) as exc:
            raise ProviderError(f"{what} is not a compact JWS: {exc}") from None
        if header.get("alg") not in p.algorithms:
            raise ProviderError(f"{what} algorithm {header.get('alg')!r} is not allowed")
        if any(h in header for h in KEY_HEADERS):
            raise ProviderError(f"{what} header carries its own key")
        try:
            decoded = jwt.decode(raw, self._key_set(), algorithms=p.algorithms)
        except InvalidKeyIdError:
            decoded = jwt.decode(raw, self._key_set(force=True), algorithms=p.algorithms)
        return dict(decoded.claims)

    def _key_set(self, force: bool = False) -> KeySet:
        return limits.key_set(self.fetch_jwk_set(force=force))  # capped, parsed once per fetch

    def check_response_issuer(self, iss: str | None) -> None:
        """Apply RFC 9207: `iss` must be our issuer, and present if discovery promises it."""
        if iss is None:
            metadata = self.load_server_metadata()
            if metadata.get("authorization_response_iss_parameter_supported") is True:
                raise ProviderError("authorization response has no iss, which discovery promises")
        elif not kind_of(self.provider).response_issuer_ok(self.provider, iss):
            raise ProviderError(f"authorization response iss {iss!r} is not the provider's issuer")

    def exchange_code(
        self, code: str | None, redirect_uri: str, code_verifier: str, nonce: str | None
    ) -> dict[str, Any]:
        """Trade the callback's code for tokens, with the attempt's PKCE verifier and nonce."""
        if not code:
            raise ProviderError("the callback carried no code")
        token: dict[str, Any] = self.fetch_access_token(
            redirect_uri=redirect_uri, code=code, code_verifier=code_verifier
        )
        if "id_token" in token and nonce:
            token["userinfo"] = self.parse_id_token(token, nonce=nonce)
        return token

    def fetch_profile(self, token: dict[str, Any]) -> Profile:
        """Return the signed-in person's profile from the token and the provider's API."""
        p = self.provider
        kind = kind_of(p)
        if kind.callback_fields:
            fields = {k: request.form.get(k) for k in kind.callback_fields}
            token = {**token, "callback_fields": fields}
        profile = kind.fetch_profile(self, token)
        if problem := limits.profile_problem(
            p.title, profile.subject, profile.email, profile.picture
        ):
            raise SignInError(problem)  # what PostgreSQL would refuse, refused alike everywhere
        if p.trust_email and profile.email and not profile.email_verified:
            # The operator vouches that this provider verifies every address it hands out.
            profile = replace(profile, email_verified=True)
        return profile

    def get_claims(self, url: str, token: dict[str, Any]) -> dict[str, Any]:
        """GET user info: a JSON object, or a signed JWT checked like an ID token (OIDC 5.3.2)."""
        resp = self.get(url, token=token)
        resp.raise_for_status()
        content_type = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/jwt":
            data = _json_of(resp, url)
            if not isinstance(data, dict):
                raise ProviderError(f"{url} answered a JSON {type(data).__name__}, not an object")
            return data
        claims = self.verified_claims(resp.text.strip(), "user info")
        check_userinfo_claims(self.provider, claims, current_app.config["OIDC_CLOCK_SKEW"])
        return claims

    def get_json(self, url: str, token: dict[str, Any], expect: type = dict) -> Any:
        """GET url with the access token; return its JSON if it is an `expect`."""
        resp = self.get(url, token=token)
        resp.raise_for_status()
        data = _json_of(resp, url)
        if not isinstance(data, expect):
            raise ProviderError(
                f"{url} answered a JSON {type(data).__name__}, not a {expect.__name__}"
            )
        return data


def _json_of(resp: Any, url: str) -> Any:
    try:
        return resp.json()
    except ValueError:  # HTML from a proxy or a maintenance page
        raise ProviderError(f"{url} did not answer JSON") from None


def check_metadata(p: Provider, metadata: Any) -> None:
    """Refuse a discovery document that is not for the configured issuer or lacks endpoints."""
    if not isinstance(metadata, dict):
        raise ProviderError("discovery document is not a JSON object")
    if metadata.get("issuer") not in p.accepted_issuers:
        raise ProviderError(
            f"discovery issuer {metadata.get('issuer')!r} is not the configured {p.issuer!r}"
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        url = metadata.get(key)
        if url is None and key == "userinfo_endpoint":
            continue
        problem = url_problem(url) if isinstance(url, str) else "missing"
        if problem:
            raise ProviderError(f"discovery {key}: {problem}")


def issuer_matches(p: Provider, claims: dict[str, Any]) -> bool:
    """True if a token's `iss` is the provider's issuer (for Microsoft: the token's tenant's)."""
    return kind_of(p).token_issuer_ok(p, claims)


def check_id_claims(p: Provider, claims: dict[str, Any], nonce: str, skew: float) -> None:
    """Apply OpenID Connect Core 3.1.3.7 to decoded ID token claims."""
    now = time.time()
    if not issuer_matches(p, claims):
        raise ProviderError(f"ID token iss {claims.get('iss')!r} is not the configured issuer")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if audiences != [p.client_id]:
        raise ProviderError(f"ID token aud {aud!r} is not exactly our client id")
    if "azp" in claims and claims["azp"] != p.client_id:
        raise ProviderError("ID token azp is not our client id")
    for name in ("exp", "iat"):
        if not isinstance(claims.get(name), int | float) or isinstance(claims.get(name), bool):
            raise ProviderError(f"ID token {name} is missing or not a number")
    if claims["exp"] < now - skew:
        raise ProviderError("ID token has expired")
    if claims["iat"] > now + skew:
        raise ProviderError("ID token is issued in the future")
    nbf = claims.get("nbf")
    if nbf is not None and (not isinstance(nbf, int | float) or nbf > now + skew):
        raise ProviderError("ID token is not valid yet")
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
        raise ProviderError("ID token nonce does not match this sign-in")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise ProviderError("ID token has no sub")


def check_userinfo_claims(p: Provider, claims: dict[str, Any], skew: float) -> None:
    """A signed user-info answer must name our issuer and our client (OIDC Core 5.3.2)."""
    if not issuer_matches(p, claims):
        raise ProviderError(f"user info iss {claims.get('iss')!r} is not the configured issuer")
    aud = claims.get("aud")
    if p.client_id not in ([aud] if isinstance(aud, str) else aud or []):
        raise ProviderError(f"user info aud {aud!r} does not name our client id")
    exp = claims.get("exp")
    if exp is not None and (not isinstance(exp, int | float) or exp < time.time() - skew):
        raise ProviderError("user info has expired")
