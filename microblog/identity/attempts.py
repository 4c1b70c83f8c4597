"""Pending sign-ins: what each attempt needs at the callback, and proof that this browser began it.

An attempt's choices (remember me, the safe `next`, linking from Settings) and its PKCE
verifier and nonce live in the database under a hash of its `state`; the session cookie holds
only the states of this browser's pending attempts. So the cookie stays small whatever `next`
holds, several servers sharing the database finish each other's sign-ins, and an attacker's
`state` means nothing in a victim's browser. Authlib keeps nothing in the session: we hand it
the verifier and nonce ourselves.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa
from flask import session

from ..extensions import db
from .models import SignInAttempt

ATTEMPTS_KEY = "signin_attempts"
# Pending sign-ins kept per browser: enough for a few tabs; the oldest goes first.
MAX_PENDING_ATTEMPTS = 5
ATTEMPT_TTL = 600  # seconds a person may spend at the provider


@dataclass(frozen=True)
class Attempt:
    """One sign-in on its way: the browser's choices, and the secrets for the code exchange."""

    provider: str
    remember: bool
    next_url: str | None
    link_to: int | None
    redirect_uri: str
    code_verifier: str
    nonce: str | None
    merge: bool = False  # link_to's account proves it holds another one, to merge it in


def save(state: str, attempt: Attempt) -> None:
    """Keep attempt under state for this browser, dropping expired and surplus attempts."""
    now = time.time()
    pending = {
        s: a for s, a in session.get(ATTEMPTS_KEY, {}).items() if a["at"] > now - ATTEMPT_TTL
    }
    pending[state] = {"provider": attempt.provider, "at": now}
    kept = dict(sorted(pending.items(), key=lambda item: item[1]["at"])[-MAX_PENDING_ATTEMPTS:])
    dropped = [_key(s) for s in pending.keys() - kept.keys()]
    cutoff = datetime.fromtimestamp(now - ATTEMPT_TTL, UTC)
    db.session.execute(
        sa.delete(SignInAttempt).where(
            sa.or_(SignInAttempt.created_at < cutoff, SignInAttempt.id.in_(dropped))
        )
    )
    created = datetime.fromtimestamp(now, UTC)
    db.session.add(SignInAttempt(id=_key(state), created_at=created, **asdict(attempt)))
    db.session.commit()
    session[ATTEMPTS_KEY] = kept


def pop(state: str | None, name: str) -> Attempt | None:
    """Take this browser's pending attempt with that state at that provider, if still valid.

    A state this browser did not begin leaves the session untouched, so that a forged or
    cross-site callback cannot replace anyone's session cookie.
    """
    pending = session.get(ATTEMPTS_KEY, {})
    mark = pending.get(state) if state else None
    if mark is None or mark["provider"] != name or mark["at"] < time.time() - ATTEMPT_TTL:
        return None
    session[ATTEMPTS_KEY] = {s: a for s, a in pending.items() if s != state}
    key = _key(state or "")
    row = db.session.get(SignInAttempt, key)
    if row is None or row.provider != name:
        return None
    attempt = Attempt(
        provider=row.provider,
        remember=row.remember,
        next_url=row.next_url,
        link_to=row.link_to,
        redirect_uri=row.redirect_uri,
        code_verifier=row.code_verifier,
        nonce=row.nonce,
        merge=row.merge,
    )
    # Single use, whatever happens next: of two callbacks at once, one deletes it.
    deleted = db.session.execute(sa.delete(SignInAttempt).where(SignInAttempt.id == key))
    db.session.commit()
    return attempt if cast("sa.CursorResult[Any]", deleted).rowcount == 1 else None


def renew_session() -> None:
    """Start a fresh session for the signed-in person, keeping only other tabs' pending sign-ins."""
    pending = session.get(ATTEMPTS_KEY)
    session.clear()
    if pending:
        session[ATTEMPTS_KEY] = pending


def _key(state: str) -> str:
    # The database holds a hash: reading it does not give anyone a state to use.
    return hashlib.sha256(state.encode()).hexdigest()
