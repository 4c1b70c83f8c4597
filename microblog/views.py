"""Blueprint for the microblog pages: timeline, explore, profiles, follows and settings."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter import RequestLimit
from flask_login import current_user, login_required, logout_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager
from werkzeug.routing import BaseConverter
from werkzeug.wrappers import Response

from . import avatars, text
from .accounts import get_user_by_nickname, nickname_problem
from .extensions import db
from .models import Follow, Identity, Post, SignIn, User
from .paging import load_page
from .providers import all_providers
from .security import rate_limit

bp = Blueprint("views", __name__)

NICKNAME_TAKEN = "That nickname is taken. Please choose another."
RECENT_SIGN_INS = 10


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
    app.add_template_global(text.profile_url, "profile_url")
    app.register_blueprint(bp)


@bp.get("/")
@login_required
def index() -> str:
    """Show the post form and the home timeline."""
    return render_home()


def _posting_too_fast(limit: RequestLimit) -> Response:
    """Show the form again with the text kept: a rate limit must not eat a post."""
    message = "You are posting faster than the site allows. Wait a moment, then send it again."
    return make_response(render_home(request.form.get("body", ""), message), 429)


@bp.post("/")
@login_required
@rate_limit("POST_RATE_LIMIT", per_user=True, on_breach=_posting_too_fast)
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


@bp.post("/settings/identities/<int:identity_id>/unlink")
@login_required
def unlink(identity_id: int) -> Response:
    """Remove one way to sign in, never the last one."""
    me = current_user.id
    # Lock the account row so two unlinks at once cannot both pass the "not the last" check.
    db.session.execute(sa.select(User.id).where(User.id == me).with_for_update())
    identity = db.first_or_404(
        sa.select(Identity).where(Identity.id == identity_id, Identity.user_id == me)
    )
    db.session.delete(identity)
    db.session.flush()
    if db.session.scalar(sa.select(sa.func.count()).where(Identity.user_id == me)) == 0:
        db.session.rollback()
        flash("That is your only way to sign in, so it stays. Link another one first.", "error")
    else:
        db.session.commit()
        flash(f"{provider_title(identity.provider)} is unlinked from your account.", "success")
    return redirect(url_for("views.settings"))


@bp.post("/settings/delete")
@login_required
def delete_account() -> Response | tuple[str, int]:
    """Delete the account with its identities, posts and follows, once the nickname is typed."""
    unsafe_confirm = request.form.get("confirm", "")
    if unsafe_confirm.strip().lower() != current_user.nickname:
        errors = {"confirm": f"Type your nickname, {current_user.nickname}, to confirm."}
        return render_settings(current_user.nickname, current_user.about, errors), 422
    # The database cascades to identities, posts, follows and sign-ins.
    db.session.execute(sa.delete(User).where(User.id == current_user.id))
    db.session.commit()
    session.clear()
    logout_user()
    flash("Your account, your posts and your follows are deleted. Goodbye!", "info")
    return redirect(url_for("auth.login"))


def provider_title(name: str) -> str:
    """The title of the provider called name, or the name if it is no longer configured."""
    return next((p.title for p in all_providers() if p.name == name), name)


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
    linked = {i.provider for i in current_user.identities}
    recent = db.session.scalars(
        sa.select(SignIn).where(SignIn.user_id == current_user.id)
        .order_by(SignIn.created_at.desc()).limit(RECENT_SIGN_INS)
    )  # fmt: skip
    return render_template(
        "views/settings.html", nickname=nickname, about=about, errors=errors or {},
        identities=[(provider_title(i.provider), i) for i in current_user.identities],
        linkable=[p for p in providers if p.ready and p.name not in linked],
        sign_ins=[(provider_title(s.provider), s) for s in recent],
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
