"""Settings: nickname and about, the ways to sign in, and deleting the account."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from .. import identity
from ..extensions import db
from ..models import User
from ..nicknames import get_user_by_nickname, nickname_problem
from ..security import no_store
from . import text
from .views import bp

NICKNAME_TAKEN = "That nickname is taken. Please choose another."


@bp.route("/settings", methods=["GET", "POST"])
@login_required
@no_store  # email addresses and sign-in history
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


@bp.post("/settings/delete")
@login_required
@no_store
def delete_account() -> Response | tuple[str, int]:
    """Delete the account with its identities, posts and follows, once the nickname is typed."""
    unsafe_confirm = request.form.get("confirm", "")
    if unsafe_confirm.strip().lower() != current_user.nickname:
        errors = {"confirm": f"Type your nickname, {current_user.nickname}, to confirm."}
        return render_settings(current_user.nickname, current_user.about, errors), 422
    # The database cascades to identities, posts, follows and sign-ins.
    db.session.execute(sa.delete(User).where(User.id == current_user.id))
    db.session.commit()
    identity.end_this_session()
    flash("Your account, your posts and your follows are deleted. Goodbye!", "info")
    return redirect(url_for("auth.login"))


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
    return render_template(
        "views/settings.html",
        nickname=nickname,
        about=about,
        errors=errors or {},
        **identity.sign_in_methods(current_user),
    )
