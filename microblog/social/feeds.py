"""Atom feeds of a person's posts and of a tag: what each holds, and the validator of a poll.

A reader polls every minute or so. Each poll first runs one small query on an index (the
newest FEED_SIZE posts' ids and times, with the names shown beside them) and hashes it into an
ETag: if the reader has that one, the answer is a 304 with no other work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import User
from ..reads import AnySelect
from .models import Post, PostTag
from .queries import posts_query

FEED_SIZE = 20


@dataclass(frozen=True)
class Version:
    """Which version of a feed there is now: its ETag, when it last changed, the post ids."""

    etag: str
    updated: datetime | None
    post_ids: list[int]


def _version(rows: list[sa.Row[Any]]) -> Version:
    """Hash the rows of a validator query (post id, written at, author's names) into a Version."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(repr(tuple(row)).encode())
    written = [row.written_at for row in rows if row.written_at is not None]
    ids = [row.id for row in rows if row.id is not None]
    return Version(digest.hexdigest()[:32], max(written, default=None), ids)


def _newest(query: AnySelect, created_at: Any, post_id: Any) -> list[sa.Row[Any]]:
    limited = query.order_by(created_at.desc(), post_id.desc()).limit(FEED_SIZE)
    return list(db.session.execute(limited))


WRITTEN_AT = sa.func.coalesce(Post.edited_at, Post.created_at).label("written_at")


def user_version(nickname: str) -> tuple[int, Version] | None:
    """Return a person's id and their feed's Version, or None if no one has that nickname."""
    query = (
        sa.select(User.id.label("user_id"), User.display_name, Post.id, WRITTEN_AT)
        .outerjoin(Post, Post.user_id == User.id)
        .where(User.nickname == nickname)
    )
    rows = _newest(query, Post.created_at, Post.id)
    if not rows:
        return None
    return rows[0].user_id, _version(rows)


def tag_version(tag: str) -> Version:
    """Return a tag's feed Version (its newest posts by people who still have an account)."""
    query = (
        sa.select(Post.id, WRITTEN_AT, User.nickname, User.display_name)
        .select_from(PostTag)
        .join(Post, Post.id == PostTag.post_id)
        .join(User, User.id == Post.user_id)
        .where(PostTag.tag == tag)
    )
    return _version(_newest(query, PostTag.created_at, PostTag.post_id))


def load_posts(post_ids: list[int]) -> list[Post]:
    """Load the posts a Version names, newest first, with their authors and mentions."""
    if not post_ids:
        return []
    query = posts_query(False).where(Post.id.in_(post_ids))  # as a visitor sees them
    return list(db.session.scalars(query.order_by(Post.created_at.desc(), Post.id.desc())))
