"""Nicknames: derived from an email at sign-up, chosen in Settings, unique and lowercase."""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa

from .extensions import db
from .models import User

NICKNAME_MAX = 24
NICKNAME_RE = re.compile(r"^[a-z0-9_]{1,24}$")
# Names the site uses for its own pages, or that would pass for the site speaking.
RESERVED_NICKNAMES = frozenset(
    """
    about account accounts admin administrator api app auth avatar dev explore feed follow
    followers following help home index login logout me microblog mod moderator new null
    none official post posts privacy profile register root search security settings signin
    signout signup static staff support system terms timeline u unfollow user users www
    """.split()
)


def nickname_from_email(email: str) -> str:
    """Derive the base nickname: local part, no +tag, ASCII, lowercase, a-z0-9_ only, 24 max."""
    local = email.rpartition("@")[0] or email
    local = local.split("+", 1)[0]
    ascii_only = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]+", "_", ascii_only.lower())[:NICKNAME_MAX] or "user"


def nickname_problem(nickname: str) -> str | None:
    """Say why a nickname a user typed cannot be used (taken is checked separately), or None."""
    if not NICKNAME_RE.match(nickname):
        return "Use 1 to 24 characters: lowercase letters, digits and _."
    if nickname in RESERVED_NICKNAMES:
        return f"“{nickname}” is reserved for the site."
    return None


def free_nickname(base: str) -> str:
    """Return base, or base with the smallest free number appended (bob, bob2, bob3, ...)."""
    start = 2
    while True:
        candidates = [] if start > 2 else [base]
        candidates += [f"{base[: NICKNAME_MAX - len(str(n))]}{n}" for n in range(start, start + 50)]
        taken = set(
            db.session.scalars(sa.select(User.nickname).where(User.nickname.in_(candidates)))
        )
        for candidate in candidates:
            if candidate not in taken and candidate not in RESERVED_NICKNAMES:
                return candidate
        start += 50


def get_user_by_nickname(nickname: str) -> User | None:
    """Find a user by nickname as typed in a URL, whatever its case."""
    return db.session.scalar(sa.select(User).where(User.nickname == nickname.lower()))
