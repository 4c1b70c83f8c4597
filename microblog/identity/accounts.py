"""Who signed in: by identity, then by an address an identity still vouches for, else new."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import User, utcnow
from ..nicknames import free_nickname, nickname_from_email
from ..plaintext import display_name_from
from .client import Profile, SignInError
from .models import Identity, SignIn
from .providers import Provider

log = logging.getLogger(__name__)

# Each round of a race for one nickname has one winner, so N people signing up at once as
# bob@... need up to N rounds. Bounded, so that a conflict loop always ends.
SIGN_IN_ATTEMPTS = 50
SUSPENDED = (
    "This account is suspended by the site's operators, so you cannot sign in. Your posts "
    "are hidden until they restore it. To ask why, contact the site's operators."
)


def sign_in(provider: Provider, profile: Profile, ip_address: str | None = None) -> User:
    """Return the user this profile belongs to, linking or creating as needed.

    The sign-in is recorded for the user's Settings page in the same transaction.
    """
    for _ in range(SIGN_IN_ATTEMPTS):
        try:
            user = _find_or_create(provider, profile)
            if user.suspended_at is not None:
                db.session.rollback()
                raise SignInError(SUSPENDED)
            db.session.add(SignIn(user_id=user.id, provider=provider.name, ip_address=ip_address))
            db.session.commit()
            return user
        except IntegrityError:
            # Someone else created this identity, email or nickname a moment ago: look again.
            db.session.rollback()
    raise SignInError("The site is busy creating accounts; please try again in a moment.")


def link(user: User, provider: Provider, profile: Profile) -> None:
    """Add this provider account to `user`, unless it already belongs to someone, committed."""
    owner_id = db.session.scalar(
        sa.select(Identity.user_id).where(
            Identity.provider == provider.name, Identity.subject == profile.subject
        )
    )
    if owner_id == user.id:
        raise SignInError(f"That {provider.title} account is already linked to yours.")
    if owner_id is not None:
        raise SignInError(
            f"That {provider.title} account belongs to another microblog account, so it was "
            "not linked. Nothing was changed."
        )
    email = profile.email if profile.email_verified else None
    user.identities.append(Identity(provider=provider.name, subject=profile.subject, email=email))
    try:
        db.session.commit()
    except IntegrityError:  # linked elsewhere a moment ago
        db.session.rollback()
        raise SignInError(f"That {provider.title} account was just linked elsewhere.") from None


def _find_or_create(provider: Provider, profile: Profile) -> User:
    identity = db.session.scalar(
        sa.select(Identity).where(
            Identity.provider == provider.name, Identity.subject == profile.subject
        )
    )
    if identity is not None:
        identity.last_used_at = utcnow()
        # What the provider vouches for today: an address it stopped vouching for (changed,
        # or no longer verified) must stop joining other providers to this account.
        identity.email = profile.email if profile.email_verified else None
        _refresh_picture(identity.user, profile)
        return identity.user

    email = verified_email(provider, profile)
    user = _user_vouched_for_by(email, provider)
    if user is None:
        user = _new_user(email, profile)
        log.info("creating user %s from provider %s", user.nickname, provider.name)
    elif not provider.link_by_email:
        raise SignInError(
            f"An account with {email} already exists. Sign in the way you did before, "
            f"then link {provider.title} from Settings."
        )
    _refresh_picture(user, profile)
    user.identities.append(Identity(provider=provider.name, subject=profile.subject, email=email))
    db.session.flush()
    return user


def _user_vouched_for_by(email: str, provider: Provider) -> User | None:
    """Return the one account an identity of which still has email as its verified address.

    Not User.email: that is the address an account began with, which its owner's provider
    may have given to someone else since.
    """
    owners = db.session.scalars(
        sa.select(User).join(Identity).where(Identity.email == email).distinct().limit(2)
    ).all()
    if len(owners) > 1:  # each provider vouched for it for a different account: ask, don't pick
        raise SignInError(
            f"More than one account uses {email}. Sign in the way you did before, then link "
            f"{provider.title} from Settings."
        )
    return owners[0] if owners else None


def _new_user(email: str, profile: Profile) -> User:
    """Add an account for email, taking User.email over from an account it no longer links."""
    vouched = sa.select(Identity.id).where(Identity.user_id == User.id, Identity.email == email)
    db.session.execute(
        sa.update(User).where(User.email == email, ~vouched.exists()).values(email=None),
        execution_options={"synchronize_session": False},
    )
    user = User(
        nickname=free_nickname(nickname_from_email(profile.nickname_hint or email)),
        email=email,
        display_name=display_name_from(profile.name),  # first sign-in only: theirs after
    )
    db.session.add(user)
    return user


def verified_email(provider: Provider, profile: Profile) -> str:
    """Return the profile's email if it may identify an account, else explain why not."""
    if not profile.email:
        raise SignInError(
            f"{provider.title} did not share an email address with us. Allow access to your "
            "email address when you sign in, or use another provider."
        )
    if not profile.email_verified:
        raise SignInError(
            f"{provider.title} says {profile.email} is not verified. Verify it at "
            f"{provider.title}, then sign in again."
        )
    return profile.email


def _refresh_picture(user: User, profile: Profile) -> None:
    if profile.picture:
        user.picture = profile.picture


def unlink(user: User, identity_id: int) -> str | None:
    """Remove one of user's identities unless it is the last; return its provider, or None.

    Raise LookupError if user has no identity with that id.
    """
    # Lock the account row so two unlinks at once cannot both pass the "not the last" check.
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
    identity = db.session.scalar(
        sa.select(Identity).where(Identity.id == identity_id, Identity.user_id == user.id)
    )
    if identity is None:
        raise LookupError(identity_id)
    db.session.delete(identity)
    db.session.flush()
    if db.session.scalar(sa.select(sa.func.count()).where(Identity.user_id == user.id)) == 0:
        db.session.rollback()
        return None
    db.session.commit()
    return identity.provider
