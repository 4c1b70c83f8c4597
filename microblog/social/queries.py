"""The microblog's queries: timelines and profiles, built from arguments, never from `request`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from ..models import User
from .models import Follow, Post


def posts_query() -> sa.Select[Post]:
    """Select posts with their authors, loaded by the same statement."""
    return sa.select(Post).join(Post.author).options(contains_eager(Post.author))


def timeline_authors(user_id: int) -> sa.CompoundSelect[int]:
    """Select the ids of the people on a user's timeline: whom they follow, and themselves."""
    followed = sa.select(Follow.followed_id.label("id")).where(Follow.follower_id == user_id)
    return sa.union_all(followed, sa.select(sa.literal(user_id, sa.Integer)))


def profile_query(nickname: str, viewer_id: int | None) -> sa.Select[*tuple[Any, ...]]:
    """Select the user called nickname with their counts, and whether the viewer follows them."""

    def count(column: sa.orm.InstrumentedAttribute[int | None]) -> sa.ScalarSelect[int]:
        return sa.select(sa.func.count()).where(column == User.id).scalar_subquery()

    followed: sa.ColumnElement[bool] = sa.false()
    if viewer_id is not None:
        followed = sa.exists().where(Follow.follower_id == viewer_id, Follow.followed_id == User.id)
    return sa.select(
        User,
        count(Post.user_id).label("posts"),
        count(Follow.followed_id).label("followers"),
        count(Follow.follower_id).label("following"),
        followed.label("is_following"),
    ).where(User.nickname == nickname)
