"""The Authlib client every provider gets: the checks Authlib leaves out, and one profile shape."""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any

from authlib.integrations.flask_client import FlaskOAuth2App
from authlib.oidc.core import UserInfo
from flask import current_app
from joserfc import jws, jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet

from . import limits
from .http import BoundedSession
from .providers import GITHUB, OIDC, Provider, url_problem

log = logging.getLogger(__name__)

# Header parameters that carry or point to a key: a token must never choose its own key.
KEY_HEADERS = ("jwk", "jku", "x5u", "x5c")


class ProviderError(Exception):
    """The provider answered something we must not accept; the message is for the log."""


class SignInError(Exception):
    """The sign-in cannot go on for a reason the user can act on; the message is for them."""


@dataclass(frozen=True)
class Profile:
    """Who the provider says signed in, whatever protocol it speaks."""

    subject: str
    email: str | None
    email_verified: bool
    name: str | None = None
    picture: str | None = None


class ProviderClient(FlaskOAuth2App):
    """Authlib's Flask client with the issuer pinned and the ID token checked to the letter."""

    provider: Provider  # set by providers.init_app right after registration
    client_cls = BoundedSession  # a deadline and a size cap on every provider request
    _keys_refetched_at: float = float("-inf")

    def load_server_metadata(self) -> dict[str, Any]:
        """Fetch discovery once per process, refusing a document for another issuer."""
        if self._server_metadata_url and "_loaded_at" not in self.server_metadata:
            with self._get_session() as session:
                resp = session.request("GET", self._server_metadata_url, withhold_token=True)
                resp.raise_for_status()
                metadata = resp.json()
            check_metadata(self.provider, metadata)
            metadata["_loaded_at"] = time.time()
            self.server_metadata.update(metadata)
        return self.server_metadata

    def fetch_jwk_set(self, force: bool = False) -> dict[str, Any]:
        """Return the provider's keys; a forced re-fetch (unknown kid) at most once a minute."""
        if force:
            now = time.monotonic()
            interval = current_app.config["JWKS_REFETCH_INTERVAL"]
            if now - self._keys_refetched_at < interval:
                raise ProviderError(
                    "ID token signed with an unknown key id (keys fetched recently)"
                )
            self._keys_refetched_at = now
        keys = super().fetch_jwk_set(force=force)
        if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
            self.server_metadata.pop("jwks", None)
            raise ProviderError("the key set is not a JSON object with a 'keys' list")
        return keys

    def parse_id_token(self, token: dict[str, Any], nonce: str, **_: Any) -> UserInfo:
        """Verify the ID token: our algorithms, our keys, our issuer, our audience, our nonce."""
        raw = token["id_token"]
        p = self.provider
        try:
            header = jws.extract_compact(raw.encode()).protected
        except (ValueError, AttributeError) as exc:
            raise ProviderError(f"ID token is not a compact JWS: {exc}") from None
        if header.get("alg") not in p.algorithms:
            raise ProviderError(f"ID token algorithm {header.get('alg')!r} is not allowed")
        if any(h in header for h in KEY_HEADERS):
            raise ProviderError("ID token header carries its own key")
        try:
            decoded = jwt.decode(raw, self._key_set(), algorithms=p.algorithms)
        except InvalidKeyIdError:
            decoded = jwt.decode(raw, self._key_set(force=True), algorithms=p.algorithms)
        check_id_claims(p, decoded.claims, nonce, current_app.config["OIDC_CLOCK_SKEW"])
        return UserInfo(decoded.claims)

    def _key_set(self, force: bool = False) -> KeySet:
        return limits.key_set(self.fetch_jwk_set(force=force))  # capped, parsed once per fetch

    def check_response_issuer(self, iss: str | None) -> None:
        """Refuse an RFC 9207 `iss` on the authorization response that is not our issuer."""
        if iss is not None and iss not in self.provider.accepted_issuers:
            raise ProviderError(f"authorization response iss {iss!r} is not the provider's issuer")

    def fetch_profile(self, token: dict[str, Any]) -> Profile:
        """Return the signed-in person's profile from the token and the provider's API."""
        p = self.provider
        if p.kind == OIDC:
            profile = self._oidc_profile(token)
        elif p.kind == GITHUB:
            profile = self._github_profile(token)
        else:
            profile = self._oauth2_profile(token)
        if problem := limits.profile_problem(
            p.title, profile.subject, profile.email, profile.picture
        ):
            raise SignInError(problem)  # what PostgreSQL would refuse, refused alike everywhere
        if p.trust_email and profile.email and not profile.email_verified:
            # The operator vouches that this provider verifies every address it hands out.
            profile = Profile(profile.subject, profile.email, True, profile.name, profile.picture)
        return profile

    def _oidc_profile(self, token: dict[str, Any]) -> Profile:
        claims = token.get("userinfo")
        if claims is None:
            raise ProviderError("the token response carried no ID token")
        claims = dict(claims)
        endpoint = self.load_server_metadata().get("userinfo_endpoint")
        if endpoint:
            info = self._get_json(endpoint, token)
            if info.get("sub") != claims["sub"]:
                raise ProviderError("userinfo sub differs from the ID token's")
            claims = {**info, **claims}  # the signed ID token wins where both speak
        return _profile(claims.get("sub"), claims)

    def _github_profile(self, token: dict[str, Any]) -> Profile:
        user = self._get_json("user", token)
        emails = self._get_json("user/emails", token, expect=list)
        primary = next((e for e in emails if isinstance(e, dict) and e.get("primary")), {})
        return _profile(
            user.get("id"),
            {
                "email": primary.get("email"),
                "email_verified": primary.get("verified") is True,
                "name": user.get("name") or user.get("login"),
                "picture": user.get("avatar_url"),
            },
        )

    def _oauth2_profile(self, token: dict[str, Any]) -> Profile:
        data = self._get_json(self.provider.userinfo_url, token)
        data.setdefault("name", data.get("preferred_username") or data.get("login"))
        data.setdefault("picture", data.get("avatar_url"))
        return _profile(data.get("sub", data.get("id")), data)

    def _get_json(self, url: str, token: dict[str, Any], expect: type = dict) -> Any:
        resp = self.get(url, token=token)
        resp.raise_for_status()
        data = resp.json()
        if not isinstance(data, expect):
            raise ProviderError(
                f"{url} answered a JSON {type(data).__name__}, not a {expect.__name__}"
            )
        return data


def _profile(subject: Any, claims: dict[str, Any]) -> Profile:
    if isinstance(subject, int) and not isinstance(subject, bool):
        subject = str(subject)
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise ProviderError("the provider gave no usable subject identifier")
    email = claims.get("email")
    email = email.strip().lower() if isinstance(email, str) and "@" in email else None
    name, picture = claims.get("name"), claims.get("picture")
    return Profile(
        subject=subject,
        email=email,
        # Some providers send the string "true"; anything else is "not verified".
        email_verified=claims.get("email_verified") in (True, "true"),
        name=name[:100] if isinstance(name, str) else None,
        picture=picture
        if isinstance(picture, str) and picture.startswith("https://") and len(picture) <= 2048
        else None,
    )


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


def check_id_claims(p: Provider, claims: dict[str, Any], nonce: str, skew: float) -> None:
    """Apply OpenID Connect Core 3.1.3.7 to decoded ID token claims."""
    now = time.time()
    if claims.get("iss") not in p.accepted_issuers:
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
