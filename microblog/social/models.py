"""The microblog's tables: posts and what hangs on them, follows, blocks and mutes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from ..extensions import Model
from ..models import User, UTCDateTime, utcnow

# Follow.followed_posted_at: a post updates its author's follow rows only while they have at
# most FANOUT_LIMIT followers (a few ms, measured); past it their rows say EVERYONE_READS.
# Migration 0012's triggers hold the same two values.
FANOUT_LIMIT = 1000
EVERYONE_READS = datetime(9999, 12, 31, tzinfo=UTC)


def _user_fk(primary_key: bool = False) -> Mapped[int]:
    return mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), primary_key=primary_key)


def _post_fk(primary_key: bool = False) -> Mapped[int]:
    return mapped_column(sa.ForeignKey("post.id", ondelete="CASCADE"), primary_key=primary_key)


class _Columns(Protocol):
    user_id: int | None
    created_at: datetime
    edited_at: datetime | None


class PostFacts:
    """What a post's columns say about it: for Post and for rows.PostRow, its plain row."""

    __slots__ = ()

    @property
    def deleted(self: _Columns) -> bool:
        return self.user_id is None

    @property
    def written_at(self: _Columns) -> datetime:
        """When the text it shows now was written."""
        return self.edited_at or self.created_at


class Post(PostFacts, Model):
    __table_args__ = (
        # Explore pages walk this index backwards, and so does a timeline, keeping the posts of
        # those followed from the index alone (user_id); profiles and sparse timelines the next.
        sa.Index("ix_post_created_at_id_user_id", "created_at", "id", "user_id"),
        sa.Index("ix_post_user_id_created_at_id", "user_id", "created_at", "id"),
        # A post's replies, in order, and their count.
        sa.Index("ix_post_reply_to_id_created_at_id", "reply_to_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # NULL once deleted while it has replies: the row stays, empty, to hold the thread
    # together ("This post was deleted"), and no query that joins an author can see it.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reply_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("post.id", ondelete="SET NULL"))
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship()  # always there for the posts a page shows

    # Loaded with the post by the statement that lists it (queries.with_counts), never alone.
    like_count: Mapped[int] = query_expression()
    reply_count: Mapped[int] = query_expression()
    liked: Mapped[bool] = query_expression()
    hidden: Mapped[bool] = query_expression()  # by someone the viewer blocked or muted
    # "bob=robert carol=carol": whom each @name referred to when written, by nickname now.
    mention_map: Mapped[str | None] = query_expression()


class Follow(Model):
    __table_args__ = (
        # Followers and following lists, latest first; the counts use them too.
        sa.Index("ix_follow_followed_id_created_at", "followed_id", "created_at", "follower_id"),
        sa.Index("ix_follow_follower_id_created_at", "follower_id", "created_at", "followed_id"),
        # A first timeline page reads the few people followed who posted last, from here.
        sa.Index(
            "ix_follow_follower_id_followed_posted_at",
            "follower_id",
            "followed_posted_at",
            "followed_id",
        ),
        # The triggers' way to the rows that a post or a follow changes.
        sa.Index("ix_follow_followed_id_followed_posted_at", "followed_id", "followed_posted_at"),
    )

    follower_id: Mapped[int] = _user_fk(primary_key=True)
    followed_id: Mapped[int] = _user_fk(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Kept by the database (migration 0012's triggers), never written here: when the followed
    # person's newest post was written (None: no post), or EVERYONE_READS for people with
    # more followers than a post may update rows (FANOUT_LIMIT), whom every timeline reads.
    followed_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Like(Model):
    """One person's like of one post: the primary key makes a second one impossible."""

    __tablename__ = "post_like"  # LIKE is an SQL keyword
    __table_args__ = (sa.Index("ix_post_like_user_id", "user_id"),)

    post_id: Mapped[int] = _post_fk(primary_key=True)
    user_id: Mapped[int] = _user_fk(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(Model):
    """An @name in a post, resolved when written: it keeps meaning that person after a rename."""

    __table_args__ = (sa.Index("ix_mention_user_id", "user_id"),)

    post_id: Mapped[int] = _post_fk(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(24), primary_key=True)  # as written, lowercased
    user_id: Mapped[int] = _user_fk()


class PostTag(Model):
    """A #tag in a post, stored when written and on edit, with the post's date for tag pages."""

    __tablename__ = "post_tag"
    # A tag's page walks this index backwards, from its newest post.
    __table_args__ = (sa.Index("ix_post_tag_tag_created_at", "tag", "created_at", "post_id"),)

    post_id: Mapped[int] = _post_fk(primary_key=True)
    tag: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # tags.normalise'd
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PostEdit(Model):
    """An earlier version of an edited post: its text and when that text was written."""

    __tablename__ = "post_edit"
    __table_args__ = (
        sa.Index("ix_post_edit_post_id_created_at_id", "post_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = _post_fk()
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Model):
    """Something someone did that concerns the recipient; it goes with the post or the person."""

    __table_args__ = (
        sa.Index("ix_notification_recipient_id_created_at_id", "recipient_id", "created_at", "id"),
        sa.Index("ix_notification_recipient_id_seen", "recipient_id", "seen"),
        sa.Index("ix_notification_actor_id", "actor_id"),
        sa.Index("ix_notification_post_id", "post_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = _user_fk()
    actor_id: Mapped[int] = _user_fk()
    kind: Mapped[str] = mapped_column(sa.String(16))  # mention, reply, like, follow
    post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("post.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen: Mapped[bool] = mapped_column(default=False)

    actor: Mapped[User] = relationship(foreign_keys=[actor_id])
    post: Mapped[Post | None] = relationship()


class Block(Model):
    """The blocker and the blocked no longer follow, reply to, like or see each other."""

    __table_args__ = (sa.Index("ix_block_blocked_id", "blocked_id"),)

    blocker_id: Mapped[int] = _user_fk(primary_key=True)
    blocked_id: Mapped[int] = _user_fk(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mute(Model):
    """The muter no longer sees the muted person's posts or notifications; they notice nothing."""

    __table_args__ = (sa.Index("ix_mute_muted_id", "muted_id"),)

    muter_id: Mapped[int] = _user_fk(primary_key=True)
    muted_id: Mapped[int] = _user_fk(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def insert_new(model: type[Model], **values: object) -> bool:
    """Insert a row unless one with its key exists (two clicks, two tabs); say if it was new.

    One statement, so that the database settles a race: no look first, no exception after.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    from ..extensions import db

    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    key = sa.inspect(model).primary_key[0]
    # RETURNING, not rowcount: on PostgreSQL (psycopg 3, SQLAlchemy 2.1) rowcount reads -1 here.
    statement = insert(model).values(**values).on_conflict_do_nothing().returning(key)
    return db.session.execute(statement).first() is not None
