"""What the API says about posts, people, notifications and pages: plain JSON-ready dicts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, url_for

from ..models import User
from ..social.models import Post
from ..social.notify import Actor, NotificationRow
from ..social.paging import Page
from ..social.rows import AuthorRow, PostRow

T = TypeVar("T")
Json = dict[str, Any]


def timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as RFC 3339 wants."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def external_prefixes() -> tuple[str, str]:
    """What the external URLs of a profile and of a post start with, built once per request.

    Built for a value of one character, then cut: nicknames and post ids need no quoting.
    """
    prefixes: tuple[str, str] | None = g.get("api_prefixes")
    if prefixes is None:
        profile = url_for("views.profile", nickname="x", _external=True)[:-1]
        post = url_for("views.thread", post_id=1, _external=True)[:-1]
        prefixes = g.api_prefixes = (profile, post)
    return prefixes


def person(user: User | AuthorRow | Actor) -> Json:
    return {
        "nickname": user.nickname,
        "display_name": user.display_name,
        "url": external_prefixes()[0] + user.nickname,
    }


def post(item: Post | PostRow) -> Json:
    """A post as the pages show it; a deleted or hidden one in a thread only keeps its place."""
    if item.deleted or getattr(item, "hidden", False):
        return {"id": item.id, "deleted": item.deleted, "hidden": not item.deleted}
    assert item.author is not None  # not deleted
    return {
        "id": item.id,
        "author": person(item.author),
        "body": item.body,
        "created_at": timestamp(item.created_at),
        "edited_at": timestamp(item.edited_at),
        "reply_to": item.reply_to_id,
        "like_count": item.like_count,
        "reply_count": item.reply_count,
        "liked": bool(item.liked),
        "url": external_prefixes()[1] + str(item.id),
    }


def profile(row: sa.Row[Any]) -> Json:
    """A person with their counts and how the token's owner stands with them."""
    user: User = row.User
    return {
        **person(user),
        "about": user.about,
        "created_at": timestamp(user.created_at),
        "posts": row.posts,
        "followers": row.followers,
        "following": row.following,
        "you_follow": bool(row.is_following),
        "you_blocked": bool(row.blocked),
        "you_muted": bool(row.muted),
    }


def notification(item: NotificationRow) -> Json:
    return {
        "id": item.id,
        "kind": item.kind,
        "actor": person(item.actor),
        "post": item.post_id,
        "created_at": timestamp(item.created_at),
        "seen": item.seen,
    }


def page(result: Page[T], item: Callable[[T], Json]) -> Json:
    """A page of items with the cursors of its neighbours: pass `before=older` or `after=newer`."""
    return {"items": [item(i) for i in result.items], "newer": result.newer, "older": result.older}
