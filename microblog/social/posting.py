"""Writing: publishing, replying, editing and deleting posts, likes, and the mentions they hold."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..extensions import db
from ..models import User, utcnow
from .models import Like, Mention, Notification, Post, PostEdit, PostTag, insert_new
from .notify import notify, withdraw
from .tags import store_tags
from .text import hashtags, mentioned_names


def publish(author_id: int, body: str, reply_to: Post | None = None) -> Post:
    """Publish a post (a reply, with reply_to), telling whom it mentions or answers. Committed."""
    post = Post(user_id=author_id, body=body, reply_to_id=reply_to and reply_to.id)
    db.session.add(post)
    db.session.flush()
    store_tags(post, hashtags(body))
    mentioned = _resolve_mentions(post)
    if reply_to is not None and reply_to.user_id is not None:
        notify(author_id, [reply_to.user_id], "reply", post.id)
        mentioned.discard(reply_to.user_id)  # one notice for one post
    notify(author_id, mentioned, "mention", post.id)
    db.session.commit()
    return post


def edit(post: Post, body: str) -> bool:
    """Change a post's text, keeping the old one in its history; say if anything changed.

    Mentions are resolved again: only people newly mentioned are told, and those no longer
    mentioned lose the notice. Committed.
    """
    if body == post.body:
        return False
    assert post.user_id is not None
    before = set(db.session.scalars(sa.select(Mention.user_id).where(Mention.post_id == post.id)))
    db.session.add(PostEdit(post_id=post.id, body=post.body, created_at=post.written_at))
    post.body, post.edited_at = body, utcnow()
    db.session.execute(sa.delete(Mention).where(Mention.post_id == post.id))
    after = _resolve_mentions(post)
    store_tags(post, hashtags(body))
    for user_id in before - after:
        withdraw(post.user_id, "mention", post.id, recipient_id=user_id)
    notify(post.user_id, after - before, "mention", post.id)
    db.session.commit()
    return True


def delete(post: Post) -> None:
    """Delete a post with its likes, notifications, mentions, tags and history, committed.

    Its replies stay: if it has any, an empty row without an author keeps the thread together.
    """
    _empty(sa.select(Post.id).where(Post.id == post.id))
    has_replies = sa.exists().where(Post.reply_to_id == post.id)
    if db.session.scalar(sa.select(has_replies)):
        post.user_id, post.body, post.edited_at = None, "", None
    else:
        db.session.delete(post)
    db.session.commit()


def keep_threads_of(user_id: int) -> None:
    """Before an account goes: empty its posts that have replies, so that those stay in place.

    The database deletes the rest of its posts with it. Not committed.
    """
    reply = aliased(Post)
    answered = sa.select(Post.id).where(
        Post.user_id == user_id, sa.exists().where(reply.reply_to_id == Post.id)
    )
    _empty(answered)
    db.session.execute(
        sa.update(Post)
        .where(Post.id.in_(answered))
        .values(user_id=None, body="", edited_at=None)
        .execution_options(synchronize_session=False)
    )


def _empty(post_ids: sa.Select[int]) -> None:
    """Delete the likes, notifications, mentions, tags and history of these posts."""
    for table in (Like, Notification, Mention, PostTag, PostEdit):
        db.session.execute(sa.delete(table).where(table.post_id.in_(post_ids)))


def like(user_id: int, post: Post) -> None:
    """Like a post once, however often asked, telling its author the first time. Committed."""
    if insert_new(Like, post_id=post.id, user_id=user_id) and post.user_id is not None:
        notify(user_id, [post.user_id], "like", post.id)
    db.session.commit()


def unlike(user_id: int, post: Post) -> None:
    """Stop liking a post; the author's notice of the like goes too. Committed."""
    db.session.execute(sa.delete(Like).where(Like.post_id == post.id, Like.user_id == user_id))
    withdraw(user_id, "like", post.id)
    db.session.commit()


def _resolve_mentions(post: Post) -> set[int]:
    """Store whom the post's @names name now; return their ids."""
    names = mentioned_names(post.body)
    if not names:
        return set()
    found = db.session.execute(sa.select(User.nickname, User.id).where(User.nickname.in_(names)))
    people = {nickname: user_id for nickname, user_id in found}
    db.session.add_all(Mention(post_id=post.id, name=n, user_id=i) for n, i in people.items())
    return set(people.values())
