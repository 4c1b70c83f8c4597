"""Who signed in, in one shape whatever the protocol; and the two ways a sign-in can fail."""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

# ASCII letters only: str.lower() and casefold() also map other characters onto ASCII ones
# (KELVIN SIGN to "k", LONG S to "s" under casefold), which would make two addresses one.
ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


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
    # What a new account's nickname is made from instead of the email (Apple's relay addresses).
    nickname_hint: str | None = None


def profile_from_claims(subject: Any, claims: dict[str, Any]) -> Profile:
    """Build a Profile from a provider's claims, keeping only values we can use."""
    if isinstance(subject, int) and not isinstance(subject, bool):
        subject = str(subject)
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise ProviderError("the provider gave no usable subject identifier")
    email = normalize_email(claims.get("email"))
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


def normalize_email(value: Any) -> str | None:
    """Return the address as we compare it, or None if it is no address at all.

    ASCII letters are lowercased in both parts, as every provider we know treats them; any
    other character must match exactly (no case mapping, no Unicode normalization), so two
    addresses that differ in more than ASCII case never become one.
    """
    if not isinstance(value, str):
        return None
    address = value.strip(" \t\r\n")
    return address.translate(ASCII_LOWER) if "@" in address else None
