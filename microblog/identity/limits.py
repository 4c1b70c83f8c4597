"""What we accept from providers: answer sizes, key counts (and the parsed key sets we keep)."""

from __future__ import annotations

import threading
from typing import Any

import requests
from joserfc.jwk import KeySet

# A discovery document, a key set, a token or a profile is a few kilobytes; 1 MiB is generous.
MAX_ANSWER_BYTES = 1024 * 1024
# Providers publish a handful of keys (current, next, previous); importing each costs time.
MAX_KEYS = 100
CACHED_KEY_SETS = 64


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
