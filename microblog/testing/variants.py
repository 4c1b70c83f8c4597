"""The fake provider for presets with rules of their own: Microsoft (tenants) and Apple."""

from __future__ import annotations

from typing import Any

from ..identity.providers import Provider
from .kinds import KINDS, FakeServer, Kind, OpenIDConnect
from .person import Grant

#: The tenant a fake Microsoft account is in unless the person says `tid=...`.
WORK_TENANT = "11111111-2222-4333-8444-555555555555"
LOGIN = "https://login.microsoftonline.com"


class Microsoft(OpenIDConnect):
    """Entra ID: a `{tenantid}` template in multi-tenant discovery, `tid`, and `xms_edov`."""

    def issuer(self, p: Provider) -> str:
        return p.accepted_issuers[0]  # the template, or the one tenant's issuer

    def id_claims(self, fake: FakeServer, grant: Grant) -> dict[str, Any]:
        claims = super().id_claims(fake, grant)
        p, person = grant.provider, grant.person
        pinned = self.issuer(p).removeprefix(LOGIN + "/").split("/")[0]
        # A single-tenant app's tenant is in its pinned issuer; a multi-tenant app takes any.
        tid = person.tid or (WORK_TENANT if pinned == "{tenantid}" else pinned)
        if claims["iss"] == p.issuer:  # unless a fault bent it
            claims["iss"] = f"{LOGIN}/{tid}/v2.0"
        # Microsoft sends no email_verified: only the optional claim xms_edov vouches.
        claims["xms_edov"] = claims.pop("email_verified")
        claims["tid"] = tid
        return claims


PRESETS: dict[str, Kind] = {"microsoft": Microsoft()}


def kind_of(p: Provider) -> Kind:
    """The fake's object for this provider: its preset's, else its kind's."""
    return PRESETS.get(p.preset or "") or KINDS[p.kind]
