"""Sign in with Apple: form_post answers, a client secret we sign, a name sent only once.

Apple posts its answer to the callback from its own site (`response_mode=form_post`), and
sends the person's name only on their very first authorization, as a `user` form field
beside the code: the ID token never carries it. Its email may be a relay address
(`...@privaterelay.appleid.com`), which forwards to the person's own and is verified.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from joserfc.jwk import ECKey

from ..config import ConfigError
from .clientauth import signing_key
from .kinds import OpenIDConnect, ProviderApi
from .profiles import Profile, ProviderError, profile_from_claims

if TYPE_CHECKING:
    from .providers import Provider

ISSUER = "https://appleid.apple.com"
RELAY_DOMAIN = "privaterelay.appleid.com"
APPLE_KEYS = ("team_id", "key_id", "private_key")


class Apple(OpenIDConnect):
    """OpenID Connect at appleid.apple.com, answered by form_post."""

    form_post: ClassVar[bool] = True
    callback_fields: ClassVar[tuple[str, ...]] = ("user",)

    def describes(self, preset: str | None, values: dict[str, Any]) -> bool:
        return preset == "apple"

    def endpoints(self, where: str, preset: str | None, values: dict[str, Any]) -> dict[str, Any]:
        for key in APPLE_KEYS:
            if key not in values:
                raise ConfigError(
                    f'{where} {key}: missing (Apple\'s sign-in key; use "${{VAR}}" for the key)'
                )
        # An empty value is a variable not set: the provider is off, and says so.
        if values["private_key"] and not isinstance(
            signing_key(where, values["private_key"]), ECKey
        ):
            raise ConfigError(f"{where} private_key: Apple's key is an EC P-256 key (a .p8 file)")
        return {
            **super().endpoints(where, preset, values),
            "team_id": values["team_id"],
            "key_id": values["key_id"],
        }

    def registration(self, p: Provider) -> dict[str, Any]:
        # Apple requires form_post whenever the scope asks for the name or the email.
        return {"authorize_params": {"response_mode": "form_post"}}

    def fetch_profile(self, api: ProviderApi, token: dict[str, Any]) -> Profile:
        claims = token.get("userinfo")
        if claims is None:
            raise ProviderError("the token response carried no ID token")
        claims = dict(claims)
        email = claims.get("email")
        relay = isinstance(email, str) and email.lower().endswith("@" + RELAY_DOMAIN)
        if relay and claims.get("is_private_email") in (True, "true"):
            # Apple made this address and forwards it to a verified one: it vouches for it.
            claims["email_verified"] = True
        name = first_sign_in_name(token.get("callback_fields", {}).get("user"))
        profile = profile_from_claims(claims.get("sub"), {**claims, "name": name})
        # A relay address's local part is random: the name makes a better nickname.
        return replace(profile, nickname_hint=profile.name if relay else None)


def first_sign_in_name(unsafe_user: Any) -> str | None:
    """The name in Apple's `user` form field (first sign-in only), or None."""
    if not isinstance(unsafe_user, str) or len(unsafe_user) > 2000:
        return None
    try:
        user = json.loads(unsafe_user)
    except ValueError:
        return None
    name = user.get("name") if isinstance(user, dict) else None
    if not isinstance(name, dict):
        return None
    parts = [name.get("firstName"), name.get("lastName")]
    full = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return full or None
