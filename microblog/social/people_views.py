"""People's pages: profiles, avatars, followers and following, and follow, block and mute."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..extensions import db
from ..models import User
from . import avatars, relations
from .pages import read_window, viewer_id
from .paging import Page, load_page
from .queries import author_posts_query, binds, load_people, profile_query
from .rows import PostRow, ProfileRow, load_profile_row
from .views import bp


def load_profile(nickname: str) -> ProfileRow:
    """Load a profile's user, counts and standing with the viewer, or answer 404."""
    viewer = viewer_id()
    found = load_profile_row(profile_query(viewer is not None), binds(viewer, nickname=nickname))
    if found is None:
        abort(404)
    return found


@bp.get("/u/<nickname:nickname>")
def profile(nickname: str) -> str:
    """Show a user's profile, counts and posts (none from someone blocked or muted)."""
    row = load_profile(nickname)
    page: Page[PostRow] = Page([], None, None)
    if not (row.blocked or row.blocks_me or row.muted):
        viewer = viewer_id()
        posts = author_posts_query(viewer is not None)
        page = load_page(posts, read_window(), binds(viewer, author_id=row.user.id))
    return render_template("views/profile.html", user=row.user, stats=row, page=page)


@bp.get("/u/<nickname:nickname>/<any(followers, following):direction>")
def people(nickname: str, direction: str) -> str:
    """List a user's followers, or whom they follow, latest first."""
    row = load_profile(nickname)
    page = load_people(row.user.id, direction, read_window())
    return render_template(
        "views/people.html", user=row.user, stats=row, page=page, direction=direction
    )


@bp.get("/u/<nickname:nickname>/avatar.svg")
def avatar(nickname: str) -> Response:
    """Send a user's identicon."""
    user = db.first_or_404(sa.select(User).where(User.nickname == nickname))
    return avatars.identicon_response(user)


def other_user(nickname: str) -> User:
    """Return the user a follow, block or mute is about, or answer 404."""
    user: User = db.first_or_404(sa.select(User).where(User.nickname == nickname))
    return user


def to_profile(nickname: str, message: str, category: str = "success") -> Response:
    flash(message, category)
    return redirect(url_for("views.profile", nickname=nickname))


@bp.post("/u/<nickname:nickname>/follow")
@login_required
def follow(nickname: str) -> Response:
    """Follow a user, then go back to their profile."""
    user = other_user(nickname)
    if user.id == current_user.id:
        return to_profile(nickname, "You cannot follow yourself.", "error")
    if relations.blocked_either_way(current_user.id, user.id):
        return to_profile(
            nickname, f"You cannot follow {nickname}: one of you blocked the other.", "error"
        )
    relations.follow(current_user.id, user.id)
    return to_profile(nickname, f"You are following {nickname}.")


@bp.post("/u/<nickname:nickname>/unfollow")
@login_required
def unfollow(nickname: str) -> Response:
    """Stop following a user, then go back to their profile."""
    relations.unfollow(current_user.id, other_user(nickname).id)
    return to_profile(nickname, f"You no longer follow {nickname}.")


@bp.post("/u/<nickname:nickname>/<any(block, mute):action>")
@login_required
def shut_out(nickname: str, action: str) -> Response:
    """Block or mute a user (never oneself), then go back to their profile."""
    user = other_user(nickname)
    if user.id == current_user.id:
        return to_profile(nickname, f"You cannot {action} yourself.", "error")
    getattr(relations, action)(current_user.id, user.id)
    done = "blocked" if action == "block" else "muted"
    return to_profile(nickname, f"You {done} {nickname}.")


@bp.post("/u/<nickname:nickname>/<any(unblock, unmute):action>")
@login_required
def let_in(nickname: str, action: str) -> Response:
    """Unblock or unmute a user, then go back to their profile."""
    getattr(relations, action)(current_user.id, other_user(nickname).id)
    done = "unblocked" if action == "unblock" else "unmuted"
    return to_profile(nickname, f"You {done} {nickname}.")
