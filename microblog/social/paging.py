"""Keyset pagination of posts on (created_at, id): new posts never shift a page."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, request
from sqlalchemy.orm import QueryableAttribute

from ..extensions import db
from .models import Post

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
POST_ID_MAX = 2**31 - 1  # post.id is a 32-bit INTEGER on PostgreSQL; a larger one errors there
BROKEN_CURSOR = "That page link is broken. Start again from the newest posts."
KeyColumn = sa.ColumnElement[Any] | QueryableAttribute[Any]  # a model's or a subquery's


@dataclass
class Page:
    """One page of posts, newest first, and the cursors of the pages either side."""

    posts: list[Post]
    newer: str | None
    older: str | None


@dataclass(frozen=True)
class Window:
    """What a page asks for: a page of posts just older than `before`, or just newer than `after`.

    A keyset on (created_at, id), not an offset: posts published meanwhile shift no page.
    """

    before: tuple[datetime, int] | None
    after: tuple[datetime, int] | None
    size: int

    @property
    def newest_first(self) -> bool:
        # A "Newer" page walks up from its cursor (and is turned round to show); others walk down.
        return self.after is None or self.before is not None

    def apply(
        self,
        query: sa.Select,
        created_at: KeyColumn = Post.created_at,
        post_id: KeyColumn = Post.id,
    ) -> sa.Select:
        """Restrict query to this window, in walk order, with one post more than a page."""
        key = sa.tuple_(created_at, post_id)
        if not self.newest_first:
            query = query.where(key > self.after).order_by(created_at, post_id)
        else:
            if self.before is not None:
                query = query.where(key < self.before)
            query = query.order_by(created_at.desc(), post_id.desc())
        return query.limit(self.size + 1)  # the extra one says whether there is a next page


def load_page(query: sa.Select[tuple[Post]], authors: sa.CompoundSelect | None = None) -> Page:
    """Run a posts query (limited to these authors' posts) for the page the request asks for."""
    per_page = current_app.config["POSTS_PER_PAGE"]
    window = Window(read_cursor("before"), read_cursor("after"), per_page)
    if authors is not None:
        query = query.where(by_authors(authors, window))
    rows = db.session.scalars(window.apply(query)).all()
    posts, more = list(rows[: window.size]), len(rows) > window.size
    if window.newest_first:
        has_newer, has_older = window.before is not None, more
    else:
        posts.reverse()
        has_newer, has_older = more, True
    return Page(
        posts=posts,
        newer=encode_cursor(posts[0]) if posts and has_newer else None,
        older=encode_cursor(posts[-1]) if posts and has_older else None,
    )


def by_authors(authors: sa.CompoundSelect, window: Window) -> sa.ColumnElement[bool]:
    """Match the window's posts by these authors, read author by author from their own index.

    Never all their posts sorted by date: that grows with every post they ever wrote, and the
    global date index is no better for someone who follows a few quiet people (or nobody).
    PostgreSQL takes each author's page with LATERAL; SQLite has no LATERAL, but with IN and
    ORDER BY ... LIMIT it stops reading each author's index once nothing more can make the page.
    """
    if db.engine.dialect.name != "postgresql":
        return Post.user_id.in_(authors)
    author = authors.subquery("author")
    per_author = sa.select(Post.id, Post.created_at).where(Post.user_id == author.c.id)
    top = window.apply(per_author.correlate(author)).lateral("top")
    # Merge the authors' pages on what their index holds, then load only the page's posts.
    merged = sa.select(top.c.id).select_from(author).join(top, sa.true())
    return Post.id.in_(window.apply(merged, top.c.created_at, top.c.id))


def encode_cursor(post: Post) -> str:
    """Return an opaque, URL-safe token for the position of post."""
    micros = (post.created_at - EPOCH) // MICROSECOND
    return base64.urlsafe_b64encode(f"{micros}.{post.id}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, int]:
    """Return the (created_at, id) position a token names; ValueError if it names none."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    micros, _, post_id = raw.partition(".")
    position = EPOCH + int(micros) * MICROSECOND, int(post_id)
    if not 0 < position[1] <= POST_ID_MAX:
        raise ValueError("post id out of range")
    return position


def read_cursor(name: str) -> tuple[datetime, int] | None:
    """Return the position in the query argument called name, or None; a broken one is a 400."""
    unsafe_token = request.args.get(name)
    if unsafe_token is None:
        return None
    try:
        return decode_cursor(unsafe_token)
    except (ValueError, OverflowError):  # OverflowError: a date past year 9999
        abort(400, BROKEN_CURSOR)
