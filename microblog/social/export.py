"""Your data: everything the site holds about a person, as one JSON document they can keep.

No secrets: no session token, no provider tokens (the site keeps none), no one else's data
beyond the nicknames of the people they follow, are followed by, like, block or mute.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import url_for

from .. import identity
from ..extensions import db
from ..models import User, utcnow
from .models import Block, Follow, Like, Mute, Post, PostEdit, PostTag
from .text import iso_utc

FORMAT = "microblog-export/1"


def export_data(user: User) -> dict[str, Any]:
    """Return the person's profile, posts with history, relations and sign-in methods."""
    return {
        "format": FORMAT,
        "exported_at": iso_utc(utcnow()),
        "profile": {
            "nickname": user.nickname,
            "display_name": user.display_name,
            "about": user.about,
            "email": user.email,
            "picture": user.picture,
            "joined_at": iso_utc(user.created_at),
            "url": url_for("views.profile", nickname=user.nickname, _external=True),
        },
        "posts": _posts(user.id),
        "following": _people(Follow.follower_id, Follow.followed_id, Follow.created_at, user.id),
        "followers": _people(Follow.followed_id, Follow.follower_id, Follow.created_at, user.id),
        "likes": _likes(user.id),
        "blocks": _people(Block.blocker_id, Block.blocked_id, Block.created_at, user.id),
        "mutes": _people(Mute.muter_id, Mute.muted_id, Mute.created_at, user.id),
        **_sign_in(user),
    }


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def _posts(user_id: int) -> list[dict[str, Any]]:
    """Their posts, oldest first, each with its tags and earlier versions (three queries)."""
    mine = sa.select(Post.id).where(Post.user_id == user_id)
    history: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    edits = sa.select(PostEdit).where(PostEdit.post_id.in_(mine))
    for edit in db.session.scalars(edits.order_by(PostEdit.created_at, PostEdit.id)):
        history[edit.post_id].append({"body": edit.body, "written_at": iso_utc(edit.created_at)})
    tags: defaultdict[int, list[str]] = defaultdict(list)
    for post_id, tag in db.session.execute(
        sa.select(PostTag.post_id, PostTag.tag).where(PostTag.post_id.in_(mine)).order_by("tag")
    ):
        tags[post_id].append(tag)
    posts = sa.select(Post).where(Post.user_id == user_id).order_by(Post.created_at, Post.id)
    return [
        {
            "id": post.id,
            "url": url_for("views.thread", post_id=post.id, _external=True),
            "body": post.body,
            "created_at": iso_utc(post.created_at),
            "edited_at": _time(post.edited_at),
            "reply_to": post.reply_to_id,
            "tags": tags[post.id],
            "earlier_versions": history[post.id],
        }
        for post in db.session.scalars(posts)
    ]


def _people(
    mine: sa.orm.InstrumentedAttribute[int],
    theirs: sa.orm.InstrumentedAttribute[int],
    since: sa.orm.InstrumentedAttribute[datetime],
    user_id: int,
) -> list[dict[str, Any]]:
    """The people on the other side of one relation table, oldest first, by nickname."""
    query = sa.select(User.nickname, since).join(User, User.id == theirs).where(mine == user_id)
    rows = db.session.execute(query.order_by(since, User.nickname))
    return [{"nickname": nickname, "since": iso_utc(moment)} for nickname, moment in rows]


def _likes(user_id: int) -> list[dict[str, Any]]:
    """The posts they like, oldest like first (a deleted author's emptied post has none)."""
    query = (
        sa.select(Like.post_id, Like.created_at, User.nickname)
        .join(Post, Post.id == Like.post_id)
        .outerjoin(User, User.id == Post.user_id)
        .where(Like.user_id == user_id)
        .order_by(Like.created_at, Like.post_id)
    )
    return [
        {
            "post": url_for("views.thread", post_id=post_id, _external=True),
            "author": author,
            "liked_at": iso_utc(liked_at),
        }
        for post_id, liked_at, author in db.session.execute(query)
    ]


def _sign_in(user: User) -> dict[str, Any]:
    """The providers they sign in with and their recent sign-ins, as Settings lists them."""
    methods = identity.sign_in_methods(user)
    return {
        "sign_in_methods": [
            {
                "provider": linked.provider,
                "provider_title": title,
                "account_at_provider": linked.subject,
                "email": linked.email,
                "linked_at": iso_utc(linked.created_at),
                "last_used_at": iso_utc(linked.last_used_at),
            }
            for title, linked in methods["identities"]
        ],
        "recent_sign_ins": [
            {
                "provider": sign_in.provider,
                "provider_title": title,
                "at": iso_utc(sign_in.created_at),
                "ip_address": sign_in.ip_address,
            }
            for title, sign_in in methods["sign_ins"]
        ],
    }
