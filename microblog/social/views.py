"""Blueprint for the microblog pages: timeline, explore, profiles and follows."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import RequestLimit
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from ..extensions import db
from ..models import User
from ..security import rate_limit
from . import avatars, text
from .models import Follow, Post
from .paging import load_page
from .queries import posts_query, profile_query, timeline_authors

bp = Blueprint("views", __name__)


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
    row = db.session.execute(profile_query(nickname, viewer_id(current_user))).one_or_none()
    if row is None:
        abort(404)
    page = load_page(posts_query().where(Post.user_id == row.User.id))
    return render_template("views/profile.html", user=row.User, stats=row, page=page)


@bp.get("/u/<nickname:nickname>/avatar.svg")
def avatar(nickname: str) -> Response:
    """Send a user's identicon."""
    user = db.first_or_404(sa.select(User).where(User.nickname == nickname))
    return avatars.identicon_response(user)


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


def viewer_id(user: User | None) -> int | None:
    """Return the signed-in person's id, or None for a visitor."""
    return user.id if user is not None and user.is_authenticated else None
