"""Merging accounts, social's part: what `other` wrote, liked and chose moves to `into`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from .models import Block, Follow, Like, Mention, Mute, Notification, Post

# Tables of one person's choice about another: (the chooser's column, the other's column).
PAIRS: tuple[tuple[type[Any], str, str], ...] = (
    (Follow, "follower_id", "followed_id"),
    (Block, "blocker_id", "blocked_id"),
    (Mute, "muter_id", "muted_id"),
)


def move_account(into_id: int, other_id: int) -> None:
    """Give other's posts, follows, blocks, mutes, likes and mentions to into, no duplicates."""
    db.session.execute(sa.update(Post).where(Post.user_id == other_id).values(user_id=into_id))
    db.session.execute(
        sa.update(Mention).where(Mention.user_id == other_id).values(user_id=into_id)
    )
    for model, chooser, chosen in PAIRS:
        for mine, theirs in ((chooser, chosen), (chosen, chooser)):
            _move_pairs(model, mine, theirs, into_id, other_id)
    liked = sa.select(Like.post_id).where(Like.user_id == into_id).scalar_subquery()
    db.session.execute(sa.delete(Like).where(Like.user_id == other_id, Like.post_id.in_(liked)))
    db.session.execute(sa.update(Like).where(Like.user_id == other_id).values(user_id=into_id))
    for column in ("recipient_id", "actor_id"):
        db.session.execute(
            sa.update(Notification)
            .where(getattr(Notification, column) == other_id)
            .values({column: into_id})
        )
    # What the two said to each other is now someone talking to themselves.
    to_self = (Notification.recipient_id == into_id) & (Notification.actor_id == into_id)
    db.session.execute(sa.delete(Notification).where(to_self))


def _move_pairs(model: type[Any], mine: str, theirs: str, into_id: int, other_id: int) -> None:
    """Move other's rows of model to into, dropping duplicates and ones between the two."""
    kept = aliased(model)
    already = sa.select(getattr(kept, theirs)).where(getattr(kept, mine) == into_id)
    db.session.execute(
        sa.delete(model).where(
            getattr(model, mine) == other_id,
            (getattr(model, theirs) == into_id) | getattr(model, theirs).in_(already),
        )
    )
    db.session.execute(
        sa.update(model).where(getattr(model, mine) == other_id).values({mine: into_id})
    )
