"""Pending sign-ins: the only code that touches Authlib's per-attempt session data.

Each attempt's choices (remember me, the safe `next`, linking from Settings) are kept under
its `state`, so that two tabs never clobber each other; expired and surplus attempts go, with
Authlib's own `_state_<name>_<state>` keys, which Authlib itself never expires.
"""

from __future__ import annotations

import time
from typing import Any

from flask import session

ATTEMPTS_KEY = "signin_attempts"
# Pending sign-ins kept per browser: enough for a few tabs, small enough for a 4 KB cookie.
MAX_PENDING_ATTEMPTS = 5
ATTEMPT_TTL = 600  # seconds a person may spend at the provider


def remember(
    state: str,
    name: str,
    remember: bool,
    next_url: str | None,
    link_to: int | None,
    merge: bool = False,
) -> None:
    """Keep this attempt's choices under its state, dropping expired and surplus attempts.

    Authlib keeps its own per-attempt data in the session and never expires it; without
    this, abandoned attempts grow the cookie until browsers drop it.
    """
    now = time.time()
    attempts = {
        s: a for s, a in session.get(ATTEMPTS_KEY, {}).items() if a["at"] > now - ATTEMPT_TTL
    }
    attempts[state] = {
        "provider": name,
        "remember": remember,
        "next": next_url,
        "link_to": link_to,
        "merge": merge,  # link_to's account proves it holds another one, to merge it in
        "at": now,
    }
    kept = dict(sorted(attempts.items(), key=lambda item: item[1]["at"])[-MAX_PENDING_ATTEMPTS:])
    wanted = {f"_state_{a['provider']}_{s}" for s, a in kept.items()}
    for key in [k for k in session if k.startswith("_state_") and k not in wanted]:
        del session[key]
    session[ATTEMPTS_KEY] = kept


def pop(state: str, name: str) -> dict[str, Any] | None:
    """Take this browser's pending attempt with that state at that provider, if still valid."""
    attempts: dict[str, dict[str, Any]] = session.get(ATTEMPTS_KEY, {})
    attempt = attempts.pop(state, None) if state else None
    session.modified = True
    if attempt is None or attempt["provider"] != name or attempt["at"] < time.time() - ATTEMPT_TTL:
        return None
    return attempt


def renew_session() -> None:
    """Start a fresh session for the signed-in person, keeping only other tabs' pending sign-ins."""
    pending = {k: v for k, v in session.items() if k == ATTEMPTS_KEY or k.startswith("_state_")}
    session.clear()
    session.update(pending)


def forget_authlib_state(name: str, state: str) -> None:
    """Drop Authlib's data for a failed attempt, so that it can never be replayed."""
    session.pop(f"_state_{name}_{state}", None)
