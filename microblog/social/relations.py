"""Follows, blocks and mutes between two people, and what each one ends."""

from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from .models import Block, Follow, Mute, insert_new
from .notify import notify, withdraw


def blocked_either_way(a_id: int, b_id: int) -> bool:
    """Whether either of two people blocked the other."""
    query = sa.select(Block.blocker_id).where(
        sa.or_(
            sa.and_(Block.blocker_id == a_id, Block.blocked_id == b_id),
            sa.and_(Block.blocker_id == b_id, Block.blocked_id == a_id),
        )
    )
    return db.session.scalar(query.limit(1)) is not None


def follow(follower_id: int, followed_id: int) -> None:
    """Follow someone (again is harmless) and tell them the first time, committed."""
    if insert_new(Follow, follower_id=follower_id, followed_id=followed_id):
        notify(follower_id, [followed_id], "follow", None)
    db.session.commit()


def unfollow(follower_id: int, followed_id: int) -> None:
    """Stop following someone; the notice of the follow goes too. Committed."""
    _unfollow(follower_id, followed_id)
    db.session.commit()


def _unfollow(follower_id: int, followed_id: int) -> None:
    mine = Follow.follower_id == follower_id
    db.session.execute(sa.delete(Follow).where(mine, Follow.followed_id == followed_id))
    withdraw(follower_id, "follow", recipient_id=followed_id)


def block(blocker_id: int, blocked_id: int) -> None:
    """Block someone: follows in both directions end, and neither sees the other. Committed."""
    insert_new(Block, blocker_id=blocker_id, blocked_id=blocked_id)
    _unfollow(blocker_id, blocked_id)
    _unfollow(blocked_id, blocker_id)
    db.session.commit()


def unblock(blocker_id: int, blocked_id: int) -> None:
    """Unblock someone (follows that ended stay ended), committed."""
    mine = Block.blocker_id == blocker_id
    db.session.execute(sa.delete(Block).where(mine, Block.blocked_id == blocked_id))
    db.session.commit()


def mute(muter_id: int, muted_id: int) -> None:
    """Mute someone: their posts and notifications leave the muter's pages, committed."""
    insert_new(Mute, muter_id=muter_id, muted_id=muted_id)
    db.session.commit()


def unmute(muter_id: int, muted_id: int) -> None:
    """Unmute someone, committed."""
    db.session.execute(sa.delete(Mute).where(Mute.muter_id == muter_id, Mute.muted_id == muted_id))
    db.session.commit()
