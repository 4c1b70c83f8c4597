"""Who signs in at the fake provider, and what an authorization code stands for."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..identity.providers import Provider


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
    #: Microsoft only: the tenant (`tid`) of the account; default: one work tenant.
    tid: str | None = None
    #: The provider's session id (`sid` in the ID token), for back-channel logout by session.
    sid: str | None = None

    @property
    def subject(self) -> str:
        """The subject the provider gives this person: `sub`, or one derived from the email."""
        if self.sub:
            return self.sub
        return hashlib.sha256((self.email or "anonymous").lower().encode()).hexdigest()[:20]

    def claims(self) -> dict[str, Any]:
        """The standard claims the fake provider tells about this person (tokens, user info)."""
        claims: dict[str, Any] = {
            "sub": self.subject,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.name,
        }
        if self.picture:
            claims["picture"] = self.picture
        if self.sid:
            claims["sid"] = self.sid
        return claims


@dataclass
class Grant:
    """What the fake provider remembers of one authorization, for its token endpoint."""

    provider: Provider
    person: Person
    nonce: str | None
    code_challenge: str | None
    redirect_uri: str
