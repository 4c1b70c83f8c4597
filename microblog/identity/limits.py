"""What we accept from outside: answer sizes, key counts, values our databases can store."""

from __future__ import annotations

import ipaddress
import threading
import unicodedata
from typing import Any

import requests
from joserfc.jwk import KeySet

# A discovery document, a key set, a token or a profile is a few kilobytes; 1 MiB is generous.
MAX_ANSWER_BYTES = 1024 * 1024
# Providers publish a handful of keys (current, next, previous); importing each costs time.
MAX_KEYS = 100
CACHED_KEY_SETS = 64
# The columns' sizes (Identity.subject, User.email, SignIn.ip_address): PostgreSQL refuses
# longer values where SQLite would keep them, so both refuse them here, alike.
MAX_SUBJECT_CHARS = 255
MAX_EMAIL_CHARS = 320
MAX_ADDRESS_CHARS = 45
# Controls (NUL, which PostgreSQL refuses, among them), invisible format characters such as
# bidi overrides, lone surrogates (no database can encode them), line separators.
UNSTORABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class OverLimit(requests.RequestException, ValueError):
    """A provider's answer is larger than we accept; the message is for the log."""


_parsed: dict[int, tuple[dict[str, Any], KeySet]] = {}
_parsed_lock = threading.Lock()


def key_set(jwks: dict[str, Any]) -> KeySet:
    """Import a fetched key set once: Authlib keeps the same dict until it fetches again."""
    hit = _parsed.get(id(jwks))
    if hit is not None and hit[0] is jwks:
        return hit[1]
    count = len(jwks.get("keys") or ())
    if count > MAX_KEYS:
        raise OverLimit(f"the key set holds {count} keys; at most {MAX_KEYS}")
    parsed = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    with _parsed_lock:
        # Keyed by identity, holding the dict so that its id cannot be reused while cached.
        if len(_parsed) >= CACHED_KEY_SETS:
            del _parsed[next(iter(_parsed))]
        _parsed[id(jwks)] = (jwks, parsed)
    return parsed


def profile_problem(title: str, subject: str, email: str | None, picture: str | None) -> str | None:
    """Say why a provider's profile cannot be stored as it is, or return None."""
    if len(subject) > MAX_SUBJECT_CHARS or _unstorable(subject):
        what = "an account identifier"
    elif email is not None and (len(email) > MAX_EMAIL_CHARS or _unstorable(email)):
        what = "an email address"
    elif picture is not None and _unstorable(picture):
        what = "a picture address"
    else:
        return None
    return (
        f"{title} sent {what} this site cannot store (too long, or with control characters), "
        "so you were not signed in. Please try another way to sign in."
    )


def client_address(unsafe_address: str | None) -> str | None:
    """Return the client's IP address in its short form, or None if it is not one."""
    try:
        address = str(ipaddress.ip_address((unsafe_address or "").strip()))
    except ValueError:
        return None
    return address if len(address) <= MAX_ADDRESS_CHARS else None


def _unstorable(text: str) -> bool:
    return any(unicodedata.category(c) in UNSTORABLE_CATEGORIES for c in text)
