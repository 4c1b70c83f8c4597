"""Merging two accounts: another account's identities and content move into this one.

Only after a fresh sign-in to the other account (the proof, kept briefly in this browser's
session) and a confirmation. Identity moves its own tables; each other part of the app that
owns rows of a user registers a mover with `on_account_merge` (social: posts, follows), so
a table added later joins by registering its own. All in one transaction: it all moves, or
nothing does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask, current_app, session

from ..extensions import db
from ..models import User
from .models import Identity, SignIn
from .profiles import Profile, SignInError
from .providers import Provider

log = logging.getLogger(__name__)
#: A mover: (into_id, other_id) -> None, run inside the merge's transaction.
Mover = Callable[[int, int], None]
PROPOSAL_KEY = "merge_proposal"
PROOF_TTL = 600  # seconds between the other account's sign-in and the confirmation
HOOKS = "microblog.account_merge_movers"


def on_account_merge(app: Flask, mover: Mover) -> None:
    """Have `mover(into_id, other_id)` move a table's rows when two accounts merge."""
    app.extensions.setdefault(HOOKS, []).append(mover)


def owner_of(provider: str, subject: str) -> User | None:
    """The account that signs in with this provider account, if any."""
    return db.session.scalar(
        sa.select(User).join(Identity).where(
            Identity.provider == provider, Identity.subject == subject
        )
    )  # fmt: skip


def prove(into: User, provider: Provider, profile: Profile) -> User:
    """Take a fresh sign-in to another account as proof this browser holds it; return it."""
    other = owner_of(provider.name, profile.subject)
    if other is None:
        raise SignInError(
            f"That {provider.title} account has no microblog account, so there is nothing to "
            f"merge. To sign in with it too, link it instead."
        )
    if other.id == into.id:
        raise SignInError(f"That {provider.title} account is already yours: nothing to merge.")
    propose(into, other, provider.name)
    return other


def propose(into: User, other: User, provider: str) -> None:
    """Remember, in this browser only and briefly, that it just proved it holds `other`."""
    session[PROPOSAL_KEY] = {
        "into": into.id,
        "other": other.id,
        "provider": provider,
        "at": time.time(),
    }


def proposed(into: User) -> User | None:
    """The account this browser proved it holds, for `into`, if the proof is still fresh."""
    proposal = session.get(PROPOSAL_KEY)
    if not isinstance(proposal, dict) or proposal.get("into") != into.id:
        return None
    if proposal.get("at", 0) < time.time() - PROOF_TTL:
        return None
    other = db.session.get(User, proposal.get("other"))
    return other if other is not None and other.id != into.id else None


def forget_proposal() -> None:
    session.pop(PROPOSAL_KEY, None)


def merge_accounts(into: User, other: User) -> None:
    """Move other's identities, sign-ins and (through the movers) content into `into`, then
    delete other with all its sessions, committed."""
    into_id, other_id = into.id, other.id
    # Lock both accounts in id order, so two merges at once cannot deadlock or cross.
    for user_id in sorted((into_id, other_id)):
        db.session.execute(sa.select(User.id).where(User.id == user_id).with_for_update())
    # (provider, subject) is unique, so other's identities can never duplicate ours.
    db.session.execute(
        sa.update(Identity).where(Identity.user_id == other_id).values(user_id=into_id)
    )
    db.session.execute(sa.update(SignIn).where(SignIn.user_id == other_id).values(user_id=into_id))
    for mover in current_app.extensions.get(HOOKS, []):
        mover(into_id, other_id)
    # The database cascades to other's sessions, which stop working at once.
    db.session.execute(sa.delete(User).where(User.id == other_id))
    db.session.commit()
    db.session.expire_all()
    log.info("merged account %s into %s", other_id, into_id)
