"""Merging accounts, social's part: posts and follows move to the account that stays."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from .models import Follow, Post


def move_account(into_id: int, other_id: int) -> None:
    """Give other's posts and follows to into, without duplicates or self-follows."""
    db.session.execute(sa.update(Post).where(Post.user_id == other_id).values(user_id=into_id))
    for mine, theirs in (("follower_id", "followed_id"), ("followed_id", "follower_id")):
        kept = aliased(Follow)
        already = sa.select(getattr(kept, theirs)).where(getattr(kept, mine) == into_id)
        # A follow `into` already has, or one between the two accounts, cannot survive the move.
        db.session.execute(
            sa.delete(Follow).where(
                getattr(Follow, mine) == other_id,
                (getattr(Follow, theirs) == into_id) | getattr(Follow, theirs).in_(already),
            )
        )
        db.session.execute(
            sa.update(Follow).where(getattr(Follow, mine) == other_id).values({mine: into_id})
        )
