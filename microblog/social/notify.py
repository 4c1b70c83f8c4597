"""Notifications: who is told what, and the recipient's list of them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.visitors import replacement_traverse

from .. import reads
from ..extensions import db
from ..models import User, UTCDateTime, utcnow
from ..reads import AnySelect
from .models import Block, Mute, Notification, Post
from .paging import Page, Window, windowed
from .queries import binds, hidden_authors

KINDS = ("mention", "reply", "like", "follow")


@dataclass(slots=True)
class Actor:
    """Who did what a notification tells, as its line names them."""

    nickname: str
    display_name: str


@dataclass(slots=True)
class NotificationRow:
    """A notification as its line (and the API) shows it: a plain row, no ORM instances.

    Building a page's Notification, User and Post instances cost more than its statement, as
    for posts (rows.py).
    """

    id: int
    kind: str
    post_id: int | None
    created_at: datetime
    seen: bool
    actor: Actor
    post_text: str | None  # None: no post, or one deleted since

    @property
    def snippet(self) -> str:
        """The start of the post's text for the line; "" if there is none."""
        return snippet(self.post_text)


def notify(actor_id: int, recipient_ids: Collection[int], kind: str, post_id: int | None) -> None:
    """Tell each recipient what the actor did, unless it is their own act or they shut them out.

    Nobody hears from someone they blocked or muted, nor from someone who blocked them.
    One INSERT ... SELECT, whatever the number of recipients.
    """
    assert kind in KINDS
    if not recipient_ids:
        return
    blocked = sa.exists().where(
        sa.or_(
            sa.and_(Block.blocker_id == User.id, Block.blocked_id == actor_id),
            sa.and_(Block.blocker_id == actor_id, Block.blocked_id == User.id),
        )
    )
    muted = sa.exists().where(Mute.muter_id == User.id, Mute.muted_id == actor_id)
    recipients = sa.select(
        User.id,
        sa.literal(actor_id, sa.Integer),
        sa.literal(kind, sa.String),
        sa.literal(post_id, sa.Integer),
        sa.literal(utcnow(), UTCDateTime),
        sa.false(),
    ).where(User.id.in_(recipient_ids), User.id != actor_id, ~blocked, ~muted)
    columns = ["recipient_id", "actor_id", "kind", "post_id", "created_at", "seen"]
    db.session.execute(sa.insert(Notification).from_select(columns, recipients))


def withdraw(actor_id: int, kind: str, post_id: int | None = None, **where: int) -> None:
    """Take back notifications of an act undone (an unlike, an unfollow, a mention edited out)."""
    query = sa.delete(Notification).where(
        Notification.actor_id == actor_id, Notification.kind == kind
    )
    if post_id is not None:
        query = query.where(Notification.post_id == post_id)
    for column, value in where.items():
        query = query.where(getattr(Notification, column) == value)
    db.session.execute(query)


def visible() -> sa.ColumnElement[bool]:
    """Match the viewer's notifications from people they still see."""
    return sa.and_(
        Notification.recipient_id == sa.bindparam("viewer_id", type_=sa.Integer),
        Notification.actor_id.not_in(hidden_authors()),
    )


@cache
def notifications_query() -> AnySelect:
    """Select the viewer's notifications with what their lines show of actors and posts."""
    # NULL for no post, or one deleted since (its row kept for the thread, empty)
    post_text = sa.case((Post.user_id.is_not(None), Post.body)).label("post_text")
    return (
        sa.select(
            Notification.id,
            Notification.kind,
            Notification.post_id,
            Notification.created_at,
            Notification.seen,
            User.nickname,
            User.display_name,
            post_text,
        )
        .select_from(Notification)
        .join(Notification.actor)
        .outerjoin(Notification.post)
        .where(visible())
    )


@lru_cache(maxsize=64)
def notifications_statement(dialect: str, shape: Window) -> AnySelect:
    """Build a window shape's statement once per process, as the Core select the ORM one
    compiles to: its rows then come back as they are, with no ORM loading to set up."""
    query = windowed(
        dialect, notifications_query(), shape, None, Notification.created_at, Notification.id
    )
    return reads.core_select(query)


def load_notifications(recipient_id: int, window: Window) -> Page[NotificationRow]:
    """Load one window of a person's notifications, newest first, with actors and posts."""
    statement = notifications_statement(db.engine.dialect.name, window.shape)
    found = reads.rows(statement, binds(recipient_id, **window.cursor_values()))
    rows = [
        NotificationRow(row_id, kind, post_id, at, seen, Actor(nickname, name), text)
        for row_id, kind, post_id, at, seen, nickname, name, text in found
    ]
    return window.page(rows, lambda n: (n.created_at, n.id))


@cache
def unread_query() -> sa.Select[int]:
    return sa.select(sa.func.count()).where(visible(), Notification.seen.is_(False))


def unread_for(user_id: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """Count the unseen notifications of the person a column names (loaded with the session)."""

    def viewer_is_user(element: Any, **_: Any) -> Any:
        if isinstance(element, sa.BindParameter) and element.key == "viewer_id":
            return user_id
        return None

    query: sa.Select[int] = replacement_traverse(unread_query(), {}, viewer_is_user)  # type: ignore[assignment]
    return query.scalar_subquery()


def unread_count(recipient_id: int) -> int:
    """Count the notifications the person has not seen yet."""
    return db.session.scalar(unread_query(), binds(recipient_id)) or 0


def mark_seen(recipient_id: int, up_to: int | None = None) -> None:
    """Mark a person's notifications seen, all or those up to id `up_to` (not committed).

    Those already loaded keep their `seen` as it was, so the page can still point out new ones.
    """
    query = sa.update(Notification).where(
        Notification.recipient_id == recipient_id, Notification.seen.is_(False)
    )
    if up_to is not None:
        query = query.where(Notification.id <= up_to)
    db.session.execute(query.values(seen=True).execution_options(synchronize_session=False))


def snippet(text: str | None, length: int = 120) -> str:
    """Return the start of a post's text for a notification line ("" for no text)."""
    if text is None:
        return ""
    body = " ".join(text.split())
    return body if len(body) <= length else body[: length - 1].rstrip() + "…"
