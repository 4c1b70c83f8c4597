"""Blueprint for the microblog pages: timeline, explore, profiles, follows and settings."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, contains_eager
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response

from . import avatars, text
from .accounts import get_user_by_nickname, nickname_problem
from .extensions import db
from .models import Follow, Post, SignIn, User
from .providers import all_providers

bp = Blueprint("views", __name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
POST_ID_MAX = 2**31 - 1  # post.id is a 32-bit INTEGER on PostgreSQL; a larger one errors there
BROKEN_CURSOR = "That page link is broken. Start again from the newest posts."
NICKNAME_TAKEN = "That nickname is taken. Please choose another."
RECENT_SIGN_INS = 10
KeyColumn = sa.ColumnElement[Any] | QueryableAttribute[Any]  # a model's or a subquery's


class NicknameConverter(BaseConverter):
    """A nickname in a URL, in any case, lowercased.

    Anything else (a NUL byte, which PostgreSQL refuses, or 300 characters) cannot name a user,
    so it is a 404 from the router and never reaches the database.
    """

    regex = r"[A-Za-z0-9_]{1,24}"

    def to_python(self, value: str) -> str:
        return value.lower()


def init_app(app: Flask) -> None:
    app.url_map.converters["nickname"] = NicknameConverter  # before the rules that use it
    app.add_template_filter(text.render_text, "rich_text")
    app.add_template_filter(text.timeago, "timeago")
    app.add_template_filter(text.iso_utc, "iso_utc")
    app.add_template_filter(text.exact_utc, "exact_utc")
    app.add_template_filter(text.long_date, "long_date")
    app.add_template_global(avatars.avatar_url, "avatar_url")
    app.register_blueprint(bp)


@bp.get("/")
@login_required
def index() -> str:
    """Show the post form and the home timeline."""
    return render_home()


@bp.post("/")
@login_required
def create_post() -> Response | tuple[str, int]:
    """Publish a post, or show the form again with the text kept and what to fix."""
    unsafe_body = request.form.get("body", "")
    body = text.clean_text(unsafe_body)
    if error := text.post_problem(body):
        return render_home(unsafe_body, error), 422
    db.session.add(Post(user_id=current_user.id, body=body))
    db.session.commit()
    flash("Your post is published.", "success")
    return redirect(url_for("views.index"))


def render_home(body: str = "", error: str | None = None) -> str:
    """Render the home page: the form holding body (and error), then the timeline."""
    page = load_page(posts_query(), authors=timeline_authors(current_user.id))
    return render_template("views/index.html", page=page, body=body, error=error)


@bp.get("/explore")
def explore() -> str:
    """Show everyone's posts."""
    return render_template("views/explore.html", page=load_page(posts_query()))


@bp.get("/u/<nickname:nickname>")
def profile(nickname: str) -> str:
    """Show a user's profile, counts and posts."""
    row = db.session.execute(profile_query(nickname)).one_or_none()
    if row is None:
        abort(404)
    page = load_page(posts_query().where(Post.user_id == row.User.id))
    return render_template("views/profile.html", user=row.User, stats=row, page=page)


@bp.get("/u/<nickname:nickname>/avatar.svg")
def avatar(nickname: str) -> Response:
    """Send a user's identicon."""
    user_id = db.first_or_404(sa.select(User.id).where(User.nickname == nickname))
    return avatars.identicon_response(user_id)


@bp.post("/u/<nickname:nickname>/follow")
@login_required
def follow(nickname: str) -> Response:
    """Follow a user, then go back to their profile."""
    user = db.first_or_404(sa.select(User).where(User.nickname == nickname))
    if user.id == current_user.id:
        flash("You cannot follow yourself.", "error")
        return redirect(url_for("views.profile", nickname=nickname))
    if db.session.get(Follow, (current_user.id, user.id)) is None:
        db.session.add(Follow(follower_id=current_user.id, followed_id=user.id))
        try:
            db.session.commit()
        except IntegrityError:  # a second click got there first: the follow exists
            db.session.rollback()
    flash(f"You are following {nickname}.", "success")
    return redirect(url_for("views.profile", nickname=nickname))


@bp.post("/u/<nickname:nickname>/unfollow")
@login_required
def unfollow(nickname: str) -> Response:
    """Stop following a user, then go back to their profile."""
    user = db.first_or_404(sa.select(User).where(User.nickname == nickname))
    mine = Follow.follower_id == current_user.id
    db.session.execute(sa.delete(Follow).where(mine, Follow.followed_id == user.id))
    db.session.commit()
    flash(f"You no longer follow {nickname}.", "success")
    return redirect(url_for("views.profile", nickname=nickname))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> str | Response | tuple[str, int]:
    """Change the nickname and the about text; list the ways to sign in."""
    if request.method == "GET":
        return render_settings(current_user.nickname, current_user.about)
    unsafe_nickname, unsafe_about = request.form.get("nickname", ""), request.form.get("about", "")
    nickname, about = unsafe_nickname.strip().lower(), text.clean_text(unsafe_about)
    if errors := settings_problems(nickname, about):
        return render_settings(unsafe_nickname, unsafe_about, errors), 422
    current_user.nickname, current_user.about = nickname, about
    try:
        db.session.commit()
    except IntegrityError:  # someone took the nickname since we looked
        db.session.rollback()
        return render_settings(unsafe_nickname, unsafe_about, {"nickname": NICKNAME_TAKEN}), 422
    flash("Your settings are saved.", "success")
    return redirect(url_for("views.settings"))


def settings_problems(nickname: str, about: str) -> dict[str, str]:
    """Say what is wrong with each settings field, by field name."""
    errors = {}
    if problem := nickname_problem(nickname):
        errors["nickname"] = problem
    elif (owner := get_user_by_nickname(nickname)) is not None and owner.id != current_user.id:
        errors["nickname"] = NICKNAME_TAKEN
    if len(about) > text.ABOUT_MAX_CHARS:
        errors["about"] = f"Keep it to {text.ABOUT_MAX_CHARS} characters; this has {len(about)}."
    return errors


def render_settings(nickname: str, about: str, errors: dict[str, str] | None = None) -> str:
    """Render the settings form holding what was typed, and the account's sign-in methods."""
    providers = all_providers()
    titles = {p.name: p.title for p in providers}
    linked = {i.provider for i in current_user.identities}
    recent = db.session.scalars(
        sa.select(SignIn).where(SignIn.user_id == current_user.id)
        .order_by(SignIn.created_at.desc()).limit(RECENT_SIGN_INS)
    )  # fmt: skip
    return render_template(
        "views/settings.html", nickname=nickname, about=about, errors=errors or {},
        identities=[(titles.get(i.provider, i.provider), i) for i in current_user.identities],
        linkable=[p for p in providers if p.ready and p.name not in linked],
        sign_ins=[(titles.get(s.provider, s.provider), s) for s in recent],
    )  # fmt: skip


def posts_query() -> sa.Select[tuple[Post]]:
    """Select posts with their authors, loaded by the same statement."""
    return sa.select(Post).join(Post.author).options(contains_eager(Post.author))


def timeline_authors(user_id: int) -> sa.CompoundSelect:
    """Select the ids of the people on a user's timeline: whom they follow, and themselves."""
    followed = sa.select(Follow.followed_id.label("id")).where(Follow.follower_id == user_id)
    return sa.union_all(followed, sa.select(sa.literal(user_id, sa.Integer)))


def profile_query(nickname: str) -> sa.Select:
    """Select the user called nickname with their counts, and whether the visitor follows them."""

    def count(column: sa.ColumnElement[int]) -> sa.ScalarSelect[int]:
        return sa.select(sa.func.count()).where(column == User.id).scalar_subquery()

    if current_user.is_authenticated:
        followed = sa.exists().where(
            Follow.follower_id == current_user.id, Follow.followed_id == User.id
        )
    else:
        followed = sa.false()
    return sa.select(
        User,
        count(Post.user_id).label("posts"),
        count(Follow.followed_id).label("followers"),
        count(Follow.follower_id).label("following"),
        followed.label("is_following"),
    ).where(User.nickname == nickname)


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
