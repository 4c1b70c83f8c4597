"""The fake provider for presets with rules of their own: Microsoft (tenants) and Apple."""

from __future__ import annotations

import json
import time
from typing import Any, Protocol
from urllib.parse import parse_qs

from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from werkzeug.test import TestResponse

from ..identity.providers import Provider
from .client import hidden_fields
from .clientauth import SecretCheck
from .kinds import KINDS, FakeServer, Kind, OpenIDConnect, Reply, json_reply
from .person import Grant, Person

#: The tenant a fake Microsoft account is in unless the person says `tid=...`.
WORK_TENANT = "11111111-2222-4333-8444-555555555555"
LOGIN = "https://login.microsoftonline.com"
RELAY_DOMAIN = "privaterelay.appleid.com"
MAX_SECRET_LIFETIME = 15777000  # Apple's limit: six months
# The headers a browser sends with Apple's form_post, and with our continue page's form.
CROSS_SITE = {"Origin": "https://appleid.apple.com", "Sec-Fetch-Site": "cross-site"}
SAME_SITE = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}


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


class Apple(OpenIDConnect):
    """Sign in with Apple: form_post, no user info, a name only on the first authorization."""

    def discovery(self, fake: FakeServer, p: Provider) -> Reply:
        status, headers, body = super().discovery(fake, p)
        if status != 200 or headers.get("Content-Type") != "application/json":
            return status, headers, body
        document = json.loads(body)
        document.pop("userinfo_endpoint")  # Apple has none: the ID token is all there is
        document["response_modes_supported"] = ["query", "fragment", "form_post"]
        return json_reply(document)

    def id_claims(self, fake: FakeServer, grant: Grant) -> dict[str, Any]:
        claims = super().id_claims(fake, grant)
        email = claims.get("email") or ""
        claims.pop("name", None)  # Apple's ID token never carries the name
        # Apple writes these booleans as strings.
        claims["email_verified"] = "true" if claims.get("email_verified") else "false"
        if email.endswith("@" + RELAY_DOMAIN):
            claims["is_private_email"] = "true"
        claims["nonce_supported"] = True
        return claims

    def secret_ok(self, p: Provider, secret: str) -> bool:
        """Check the client secret as Apple does: an ES256 JWT from the team, under its key."""
        key = ECKey.import_key(p.private_key.replace("\\n", "\n")).as_dict(private=False)
        try:
            token = jwt.decode(secret, ECKey.import_key(key), algorithms=["ES256"])
        except (JoseError, ValueError):
            return False
        c, now = token.claims, time.time()
        return (
            token.header.get("kid") == p.key_id
            and (c.get("iss"), c.get("sub"), c.get("aud")) == (p.team_id, p.client_id, p.issuer)
            and isinstance(c.get("exp"), int)
            and now < c["exp"] <= c.get("iat", 0) + MAX_SECRET_LIFETIME
        )

    def post_answer(
        self, fake: FakeIdPLike, p: Provider, client: FlaskClient, callback_url: str
    ) -> TestResponse:
        """Post the answer from Apple's page (no cookies of ours), then submit the page we get."""
        path, _, query = callback_url.partition("?")
        form = {k: v[0] for k, v in parse_qs(query).items()}
        grant = fake.grant(form.get("code", ""))
        if grant is not None and (p.name, grant.person.subject) not in fake.authorized_before:
            fake.authorized_before.add((p.name, grant.person.subject))
            form["user"] = json.dumps(first_sign_in_user(grant.person))
        apple_page = fake.app.test_client()  # a cross-site POST carries no SameSite=Lax cookie
        page = apple_page.post(path, data=form, headers=CROSS_SITE)
        if page.status_code != 200:
            return page
        return client.post(path, data=hidden_fields(page.get_data(as_text=True)), headers=SAME_SITE)


def first_sign_in_user(person: Person) -> dict[str, Any]:
    """Apple's `user` form field: the name as the person typed it, and the email."""
    first, _, last = (person.name or "").partition(" ")
    return {"name": {"firstName": first, "lastName": last}, "email": person.email}


class FakeIdPLike(Protocol):
    """What Apple's answer needs of the fake provider."""

    app: Flask
    authorized_before: set[tuple[str, str]]

    def grant(self, code: str) -> Grant | None: ...


PRESETS["apple"] = Apple()


def deliver(fake: FakeIdPLike, p: Provider, client: FlaskClient, url: str) -> TestResponse:
    """Bring the provider's answer to the app: a redirect (GET), or Apple's form_post."""
    kind = kind_of(p)
    if isinstance(kind, Apple):
        return kind.post_answer(fake, p, client, url)
    return client.get(url)


def secret_check(p: Provider) -> SecretCheck | None:
    """How the token endpoint checks p's client secret, if not by comparing it."""
    kind = kind_of(p)
    return kind.secret_ok if isinstance(kind, Apple) else None
