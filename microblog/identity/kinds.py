"""One object per kind of provider (OpenID Connect, GitHub, plain OAuth 2): all that differs.

A kind knows which providers.toml tables describe it, the endpoints it needs, what to hand
Authlib's `register()`, and how to read a profile from the provider once the code is traded
for a token. Everything else (PKCE, state, checks, accounts) is the same for every kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from ..config import ConfigError
from .profiles import Profile, ProviderError, profile_from_claims

if TYPE_CHECKING:
    from .providers import Provider

WELL_KNOWN = "/.well-known/openid-configuration"
# Google documents both spellings of its issuer; only its preset accepts the short one.
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")


class ProviderApi(Protocol):
    """What a kind needs from a provider's client to read the signed-in person's profile."""

    @property
    def provider(self) -> Provider: ...

    def load_server_metadata(self) -> dict[str, Any]: ...

    def get_json(self, url: str, token: dict[str, Any], expect: type = dict) -> Any: ...

    def get_claims(self, url: str, token: dict[str, Any]) -> dict[str, Any]: ...


class Kind(ABC):
    """What one protocol needs from its configuration, from Authlib, and from the provider."""

    name: ClassVar[str]
    default_scope: ClassVar[str] = ""
    # The provider posts its answer from its own site (response_mode=form_post).
    form_post: ClassVar[bool] = False
    # Fields of the callback request that fetch_profile reads (token["callback_fields"]).
    callback_fields: ClassVar[tuple[str, ...]] = ()

    def __str__(self) -> str:
        return self.name

    @abstractmethod
    def describes(self, preset: str | None, values: dict[str, Any]) -> bool:
        """True if a providers.toml table (preset merged in) is a provider of this kind."""

    @abstractmethod
    def endpoints(self, where: str, preset: str | None, values: dict[str, Any]) -> dict[str, Any]:
        """Return the Provider fields for this kind's endpoints, or raise ConfigError."""

    def scope_problem(self, scope: str) -> str | None:
        """Say why this kind cannot work with scope, or return None."""
        return None

    @abstractmethod
    def registration(self, p: Provider) -> dict[str, Any]:
        """Return the endpoint arguments of Authlib's register() for p."""

    @abstractmethod
    def fetch_profile(self, api: ProviderApi, token: dict[str, Any]) -> Profile:
        """Read the signed-in person's profile, given the token the code was traded for."""

    def token_issuer_ok(self, p: Provider, claims: dict[str, Any]) -> bool:
        """True if a signed token's `iss` is this provider's issuer."""
        return claims.get("iss") in p.accepted_issuers

    def response_issuer_ok(self, p: Provider, iss: str) -> bool:
        """True if the RFC 9207 `iss` of an authorization response is this provider's issuer."""
        return iss in p.accepted_issuers


class OpenIDConnect(Kind):
    """Endpoints from discovery; who signed in from the checked ID token plus user info."""

    name = "oidc"
    default_scope = "openid email profile"

    def describes(self, preset: str | None, values: dict[str, Any]) -> bool:
        return bool(values.get("issuer") or values.get("server_metadata_url") or preset == "dev")

    def endpoints(self, where: str, preset: str | None, values: dict[str, Any]) -> dict[str, Any]:
        issuer, metadata_url = values.get("issuer"), values.get("server_metadata_url")
        if not issuer and metadata_url:
            if not metadata_url.endswith(WELL_KNOWN):
                raise ConfigError(
                    f"{where} issuer: missing; needed when server_metadata_url "
                    f"does not end in {WELL_KNOWN}"
                )
            issuer = metadata_url[: -len(WELL_KNOWN)]
        accepted = GOOGLE_ISSUERS if preset == "google" and issuer == GOOGLE_ISSUERS[0] else ()
        # The development preset has no issuer yet: the registry fills it in at start-up.
        return {
            "issuer": issuer,
            "server_metadata_url": metadata_url or (issuer and issuer.rstrip("/") + WELL_KNOWN),
            "accepted_issuers": accepted or ((issuer,) if issuer else ()),
        }

    def scope_problem(self, scope: str) -> str | None:
        if "openid" not in scope.split():
            return "an OpenID Connect provider needs 'openid' in its scope"
        return None

    def registration(self, p: Provider) -> dict[str, Any]:
        return {}  # ProviderClient.load_server_metadata fetches and pins discovery itself

    def fetch_profile(self, api: ProviderApi, token: dict[str, Any]) -> Profile:
        claims = token.get("userinfo")
        if claims is None:
            raise ProviderError("the token response carried no ID token")
        claims = dict(claims)
        endpoint = api.load_server_metadata().get("userinfo_endpoint")
        if endpoint:
            info = api.get_claims(endpoint, token)
            if info.get("sub") != claims["sub"]:
                raise ProviderError("userinfo sub differs from the ID token's")
            claims = {**info, **claims}  # the signed ID token wins where both speak
        return profile_from_claims(claims.get("sub"), claims)


class GitHub(Kind):
    """github.com or GitHub Enterprise: OAuth 2, its REST API, its list of verified emails."""

    name = "github"

    def describes(self, preset: str | None, values: dict[str, Any]) -> bool:
        return preset == "github"

    def endpoints(self, where: str, preset: str | None, values: dict[str, Any]) -> dict[str, Any]:
        base = values["base_url"].rstrip("/")
        api = "https://api.github.com/" if base == "https://github.com" else f"{base}/api/v3/"
        return {
            "authorize_url": values.get("authorize_url", f"{base}/login/oauth/authorize"),
            "token_url": values.get("token_url", f"{base}/login/oauth/access_token"),
            "api_base_url": api,
        }

    def registration(self, p: Provider) -> dict[str, Any]:
        return {
            "authorize_url": p.authorize_url,
            "access_token_url": p.token_url,
            "api_base_url": p.api_base_url,
        }

    def fetch_profile(self, api: ProviderApi, token: dict[str, Any]) -> Profile:
        user = api.get_json("user", token)
        emails = api.get_json("user/emails", token, expect=list)
        primary = next((e for e in emails if isinstance(e, dict) and e.get("primary")), {})
        return profile_from_claims(
            user.get("id"),
            {
                "email": primary.get("email"),
                "email_verified": primary.get("verified") is True,
                "name": user.get("name") or user.get("login"),
                "picture": user.get("avatar_url"),
            },
        )


class OAuth2(Kind):
    """Plain OAuth 2: three configured endpoints, and a user-info document of common names."""

    name = "oauth2"
    NEEDED = ("authorize_url", "token_url", "userinfo_url")

    def describes(self, preset: str | None, values: dict[str, Any]) -> bool:
        return True  # the last resort: endpoints() says what is missing

    def endpoints(self, where: str, preset: str | None, values: dict[str, Any]) -> dict[str, Any]:
        absent = [k for k in self.NEEDED if not values.get(k)]
        if absent:
            raise ConfigError(
                f"{where} {absent[0]}: missing; give an issuer (OpenID Connect), a preset, "
                "or authorize_url + token_url + userinfo_url (plain OAuth 2)"
            )
        return {k: values[k] for k in self.NEEDED}

    def registration(self, p: Provider) -> dict[str, Any]:
        return {"authorize_url": p.authorize_url, "access_token_url": p.token_url}

    def fetch_profile(self, api: ProviderApi, token: dict[str, Any]) -> Profile:
        data = api.get_json(str(api.provider.userinfo_url), token)
        data.setdefault("name", data.get("preferred_username") or data.get("login"))
        data.setdefault("picture", data.get("avatar_url"))
        return profile_from_claims(data.get("sub", data.get("id")), data)


# In the order a table is tried against them: a preset first, then an issuer, then the rest.
KINDS: dict[str, Kind] = {kind.name: kind for kind in (GitHub(), OpenIDConnect(), OAuth2())}


def kind_for(where: str, preset: str | None, values: dict[str, Any]) -> Kind:
    """Return the kind a providers.toml table describes, or raise ConfigError."""
    kind = next(k for k in KINDS.values() if k.describes(preset, values))
    if "base_url" in values and not isinstance(kind, GitHub):
        raise ConfigError(f"{where} base_url: only the github preset takes base_url")
    return kind
