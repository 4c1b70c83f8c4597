"""Microsoft Entra ID (and personal Microsoft accounts): one tenant, or many, by its rules.

Multi-tenant discovery (`common`, `organizations`) names its issuer as a template,
`https://login.microsoftonline.com/{tenantid}/v2.0`: each token's `iss` must be that template
filled with the token's own `tid`. Its `email` is whatever the tenant's admin typed unless the
optional claim `xms_edov` says the domain owner verified it (the "nOAuth" takeover).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..config import ConfigError
from .kinds import WELL_KNOWN, OpenIDConnect, ProviderApi
from .profiles import Profile, ProviderError, profile_from_claims

if TYPE_CHECKING:
    from .providers import Provider

LOGIN = "https://login.microsoftonline.com"
TEMPLATE = LOGIN + "/{tenantid}/v2.0"
# The tenant of every personal Microsoft account (Outlook.com, Xbox...).
CONSUMERS_TID = "9188040d-6c67-4c5b-b112-36a304b66dad"
MULTI_TENANT = ("common", "organizations")
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISSUER = re.compile(r"^" + re.escape(LOGIN) + r"/([0-9a-f-]{36})/v2\.0$")


class Microsoft(OpenIDConnect):
    """OpenID Connect at login.microsoftonline.com, with tenants and Microsoft's email rule."""

    def describes(self, preset: str | None, values: dict[str, Any]) -> bool:
        return preset == "microsoft"

    def endpoints(self, where: str, preset: str | None, values: dict[str, Any]) -> dict[str, Any]:
        tenant = values.get("tenant", "common").strip().lower()
        if tenant not in (*MULTI_TENANT, "consumers") and not GUID.match(tenant):
            raise ConfigError(
                f"{where} tenant: {tenant!r} is not common, organizations, consumers or a "
                "tenant ID (a GUID, shown on the tenant's Overview page)"
            )
        allowed = tuple(t.strip().lower() for t in values.get("allowed_tenants", ()))
        if allowed and tenant not in MULTI_TENANT:
            raise ConfigError(f"{where} allowed_tenants: only with tenant common or organizations")
        if bad := [t for t in allowed if not GUID.match(t)]:
            raise ConfigError(f"{where} allowed_tenants: {bad[0]!r} is not a tenant ID (a GUID)")
        issuer = f"{LOGIN}/{tenant}/v2.0"
        pinned = {"consumers": CONSUMERS_TID}.get(tenant, tenant)
        return {
            "issuer": issuer,
            "server_metadata_url": issuer + WELL_KNOWN,
            # What discovery names as its issuer: the template, or the one tenant's issuer.
            "accepted_issuers": (TEMPLATE if tenant in MULTI_TENANT else f"{LOGIN}/{pinned}/v2.0",),
            "tenant": tenant,
            "allowed_tenants": allowed,
        }

    def token_issuer_ok(self, p: Provider, claims: dict[str, Any]) -> bool:
        if p.tenant not in MULTI_TENANT:
            return super().token_issuer_ok(p, claims)
        tid = claims.get("tid")
        return (
            isinstance(tid, str)
            and tenant_allowed(p, tid)
            and claims.get("iss") == TEMPLATE.replace("{tenantid}", tid)
        )

    def response_issuer_ok(self, p: Provider, iss: str) -> bool:
        if p.tenant not in MULTI_TENANT:
            return super().response_issuer_ok(p, iss)
        match = ISSUER.match(iss)
        return match is not None and tenant_allowed(p, match.group(1))

    def fetch_profile(self, api: ProviderApi, token: dict[str, Any]) -> Profile:
        # The ID token is the whole answer: Graph's user info adds no verified claim, and its
        # `picture` is a Graph URL that only an access token can open.
        claims = token.get("userinfo")
        if claims is None:
            raise ProviderError("the token response carried no ID token")
        claims = {k: v for k, v in claims.items() if k not in ("email_verified", "picture")}
        claims["email_verified"] = claims.get("xms_edov") in (True, "true", 1, "1")
        return profile_from_claims(claims.get("sub"), claims)


def tenant_allowed(p: Provider, tid: str) -> bool:
    """True if a token from tenant `tid` may sign in through p."""
    if not GUID.match(tid):
        return False
    if p.allowed_tenants and tid not in p.allowed_tenants:
        return False
    # "organizations" is for work and school accounts: never the personal-account tenant.
    return not (p.tenant == "organizations" and tid == CONSUMERS_TID)
