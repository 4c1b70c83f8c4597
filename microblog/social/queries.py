"""The microblog's queries: posts with their counts, timelines, threads, profiles, people lists.

Built from arguments (who is looking, whose page), never from `request`. Each returns one
statement whose rows carry everything a page shows about them: counts are subqueries, never a
query per row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased, contains_eager, with_expression
from sqlalchemy.orm.interfaces import ORMOption

from ..extensions import db
from ..models import User
from ..reads import AnySelect
from .models import EVERYONE_READS, Block, Follow, Like, Mention, Mute, Post
from .paging import Authors, KeyColumn, Page, Window

EARLIEST = datetime.min.replace(tzinfo=UTC)
THREAD_DEPTH = 30  # posts shown above the one asked for; a link leads further up
# A timeline walk may read one post of everyone's per this many people followed (measured).
FOLLOWS_PER_WALKED_POST = 4

# Built once per process, with the viewer (and the post or nickname) as bound parameters:
# composing these statements costs more than running them. Run them with binds(...).


def binds(viewer_id: int | None, **more: object) -> dict[str, object]:
    """Return the values for the bound parameters of this module's statements."""
    return {"viewer_id": viewer_id, **more}


def _viewer() -> sa.BindParameter[int]:
    return sa.bindparam("viewer_id", type_=sa.Integer)


def suspended_users() -> sa.Select[int]:
    """Select whom nobody sees: people an operator suspended, until they are restored."""
    return sa.select(User.id).where(User.suspended_at.is_not(None))


def hidden_authors() -> sa.CompoundSelect[int]:
    """Select whom the viewer does not see: people they blocked or muted, who blocked them,
    and the suspended."""
    return sa.union_all(
        suspended_users(),
        sa.select(Block.blocked_id).where(Block.blocker_id == _viewer()),
        sa.select(Block.blocker_id).where(Block.blocked_id == _viewer()),
        sa.select(Mute.muted_id).where(Mute.muter_id == _viewer()),
    )


@cache
def post_details(signed_in: bool) -> tuple[ORMOption, ...]:
    """Load with each post its like and reply counts, whether the viewer likes it, its mentions."""
    reply = aliased(Post)
    mentioned = aliased(User)
    likes = sa.select(sa.func.count()).where(Like.post_id == Post.id).scalar_subquery()
    replies = sa.select(sa.func.count()).where(
        reply.reply_to_id == Post.id, reply.user_id.is_not(None)
    )
    liked: sa.ColumnElement[bool] = sa.false()
    if signed_in:
        # A count of at most one (the primary key), not EXISTS, which PostgreSQL answers for a
        # page of posts by hashing every like the viewer ever gave (1,309 at 1M posts: 1 ms).
        mine = sa.select(sa.func.count()).where(Like.post_id == Post.id, Like.user_id == _viewer())
        liked = mine.scalar_subquery() > 0
    mentions = (
        sa.select(sa.func.aggregate_strings(Mention.name + "=" + mentioned.nickname, " "))
        .join(mentioned, mentioned.id == Mention.user_id)
        .where(Mention.post_id == Post.id)
    )
    # Labelled by the attributes' names: rows.py reads the rows by them.
    return (
        with_expression(Post.like_count, likes.label("like_count")),
        with_expression(Post.reply_count, replies.scalar_subquery().label("reply_count")),
        with_expression(Post.liked, liked.label("liked")),
        with_expression(Post.mention_map, mentions.scalar_subquery().label("mention_map")),
    )


@cache
def posts_query(signed_in: bool) -> sa.Select[Post]:
    """Select posts with their authors and details, leaving out whom the viewer does not see.

    The inner join on the author also leaves out deleted posts kept for their replies.
    """
    query = sa.select(Post).join(Post.author).options(contains_eager(Post.author))
    query = query.options(*post_details(signed_in))
    # A list of ids, never a condition on the joined user: that would let SQLite start from
    # the user table (its suspended_at index) and sort every post.
    hidden = hidden_authors() if signed_in else suspended_users()
    return query.where(Post.user_id.not_in(hidden))


@cache
def author_posts_query(signed_in: bool) -> sa.Select[Post]:
    """Select the posts of the author :author_id (a profile's), as posts_query does."""
    return posts_query(signed_in).where(Post.user_id == sa.bindparam("author_id", type_=sa.Integer))


@cache
def replies_query(signed_in: bool) -> sa.Select[Post]:
    """Select the replies to :post_id, deleted ones included (their own replies hang on them)."""
    query = sa.select(Post).outerjoin(Post.author).options(contains_eager(Post.author))
    query = query.options(*post_details(signed_in))
    query = query.where(Post.reply_to_id == sa.bindparam("post_id", type_=sa.Integer))
    hidden = Post.user_id.in_(hidden_authors() if signed_in else suspended_users())
    return query.where(sa.or_(Post.user_id.is_(None), sa.not_(hidden)))


@cache
def thread_query(signed_in: bool) -> sa.Select[Post]:
    """Select :post_id and the posts it replies to, from the top of the thread down.

    Deleted posts come without an author, and posts by people the viewer does not see are
    marked `hidden`: both keep their place, so that the thread still reads in order.
    """
    start = sa.select(Post.id, Post.reply_to_id, sa.literal(0).label("depth"))
    start = start.where(Post.id == sa.bindparam("post_id", type_=sa.Integer))
    chain = start.cte("chain", recursive=True)
    parent = aliased(Post)
    chain = chain.union_all(
        sa.select(parent.id, parent.reply_to_id, chain.c.depth + 1)
        .join(chain, parent.id == chain.c.reply_to_id)
        .where(chain.c.depth < THREAD_DEPTH)
    )
    hidden = Post.user_id.in_(hidden_authors() if signed_in else suspended_users())
    return (
        sa.select(Post)
        .join(chain, chain.c.id == Post.id)
        .outerjoin(Post.author)
        .options(contains_eager(Post.author), *post_details(signed_in))
        .options(with_expression(Post.hidden, hidden.label("hidden")))
        .order_by(chain.c.depth.desc())
    )


@cache
def timeline_authors() -> Authors:
    """Select the people on the viewer's timeline: whom they follow (and see), and themselves."""
    followed = sa.select(Follow.followed_id.label("id")).where(
        Follow.follower_id == _viewer(), Follow.followed_id.not_in(hidden_authors())
    )

    def includes(author_id: KeyColumn) -> sa.ColumnElement[bool]:
        # A probe of the follow key per post: the walk reads a few dozen, the list is long.
        follows = sa.exists().where(
            Follow.follower_id == _viewer(), Follow.followed_id == author_id
        )
        return sa.and_(sa.or_(author_id == _viewer(), follows), author_id.not_in(hidden_authors()))

    # A walk that finds no page (many quiet people followed) then costs a fraction of reading
    # them one by one, which follows; a dense follow set (2,000 of 10,000) finds its page well
    # within it. Measured at 1M posts, for 2,000 quiet people against reading them one by one
    # alone: 1 per person cost 1.7x (SQLite) and 2.7x (PostgreSQL), 1 per 4 people 1.2x and
    # 1.7x, with no loss for the dense reader.
    walk = sa.func.count() // FOLLOWS_PER_WALKED_POST
    budget = sa.select(walk).where(Follow.follower_id == _viewer())
    # Each list already without whom the viewer does not see: a page read from it is whole.
    me = sa.select(_viewer()).where(_viewer().not_in(hidden_authors()))

    def latest(count: int) -> tuple[sa.CompoundSelect[int], sa.ColumnElement[datetime]]:
        # The count people followed who posted last (ties with the last of them too), read
        # from the follow index: each has a post newer than anything of anyone else's, so
        # nobody else has a post among the count newest. Those every timeline reads, and
        # the viewer, as well. And since each has a post at or after the last one's time,
        # so are the count newest: none of theirs before it needs reading.
        mine = (Follow.follower_id == _viewer(), Follow.followed_id.not_in(hidden_authors()))
        dated = Follow.followed_posted_at
        last = sa.select(dated).where(*mine, dated < EVERYONE_READS).order_by(dated.desc())
        nth = last.offset(count - 1).limit(1).scalar_subquery()
        since: sa.ColumnElement[datetime] = sa.func.coalesce(nth, EARLIEST)
        recent = sa.select(Follow.followed_id.label("id")).where(*mine, dated >= since)
        return sa.union_all(recent, me), since

    return Authors(sa.union_all(followed, me), includes, budget.scalar_subquery(), latest)


@cache
def profile_query(signed_in: bool) -> AnySelect:
    """Select the user called :nickname with their counts and how the viewer stands with them."""

    def count(column: sa.orm.InstrumentedAttribute[int]) -> sa.ScalarSelect[int]:
        return sa.select(sa.func.count()).where(column == User.id).scalar_subquery()

    def viewer(table: type[Follow | Block | Mute], mine: str, theirs: str) -> sa.Exists:
        columns = table.__table__.c
        return sa.exists().where(columns[mine] == _viewer(), columns[theirs] == User.id)

    no: sa.ColumnElement[bool] = sa.false()
    posts = sa.select(sa.func.count()).where(Post.user_id == User.id).scalar_subquery()
    blocks_me = sa.exists().where(Block.blocker_id == User.id, Block.blocked_id == _viewer())
    return sa.select(
        User,
        posts.label("posts"),
        count(Follow.followed_id).label("followers"),
        count(Follow.follower_id).label("following"),
        (viewer(Follow, "follower_id", "followed_id") if signed_in else no).label("is_following"),
        (viewer(Block, "blocker_id", "blocked_id") if signed_in else no).label("blocked"),
        (blocks_me if signed_in else no).label("blocks_me"),
        (viewer(Mute, "muter_id", "muted_id") if signed_in else no).label("muted"),
    ).where(User.nickname == sa.bindparam("nickname", type_=sa.String), User.suspended_at.is_(None))


def load_people(user_id: int, direction: str, window: Window) -> Page[sa.Row[Any]]:
    """Load one window of a user's "followers" or of whom they are "following", latest first."""
    mine, theirs = (
        (Follow.followed_id, Follow.follower_id)
        if direction == "followers"
        else (Follow.follower_id, Follow.followed_id)
    )
    query = (
        sa.select(User, Follow.created_at.label("since"))
        .join(Follow, theirs == User.id)
        .where(mine == user_id, theirs.not_in(suspended_users()))
    )
    rows = db.session.execute(window.apply(query, Follow.created_at, theirs)).all()
    return window.page(rows, lambda row: (row.since, row.User.id))
