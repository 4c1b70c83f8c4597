"""Settings: nickname, name and about, the ways to sign in, and deleting the account."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from .. import identity
from ..extensions import db
from ..models import User
from ..nicknames import get_user_by_nickname, nickname_problem
from ..plaintext import DISPLAY_NAME_MAX, clean_line
from . import posting, text
from .pages import login_required
from .views import bp

NICKNAME_TAKEN = "That nickname is taken. Please choose another."


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> str | Response | tuple[str, int]:
    """Change the nickname, the display name and the about text; list the ways to sign in."""
    if request.method == "GET":
        return render_settings(current_user.nickname, current_user.about, current_user.display_name)
    unsafe = {f: request.form.get(f, "") for f in ("nickname", "about", "display_name")}
    nickname, about = unsafe["nickname"].strip().lower(), text.clean_text(unsafe["about"])
    name = clean_line(unsafe["display_name"])
    if errors := settings_problems(nickname, about, name):
        return render_settings(**unsafe, errors=errors), 422
    current_user.nickname, current_user.about, current_user.display_name = nickname, about, name
    try:
        db.session.commit()
    except IntegrityError:  # someone took the nickname since we looked
        db.session.rollback()
        return render_settings(**unsafe, errors={"nickname": NICKNAME_TAKEN}), 422
    flash("Your settings are saved.", "success")
    return redirect(url_for("views.settings"))


@bp.post("/settings/delete")
@login_required
def delete_account() -> Response | tuple[str, int]:
    """Delete the account with its identities, posts and follows, once the nickname is typed."""
    unsafe_confirm = request.form.get("confirm", "")
    if unsafe_confirm.strip().lower() != current_user.nickname:
        errors = {"confirm": f"Type your nickname, {current_user.nickname}, to confirm."}
        return render_settings(
            current_user.nickname, current_user.about, current_user.display_name, errors
        ), 422
    posting.keep_threads_of(current_user.id)
    # The database cascades to identities, posts, follows and sign-ins.
    db.session.execute(sa.delete(User).where(User.id == current_user.id))
    db.session.commit()
    identity.end_this_session()
    flash("Your account, your posts and your follows are deleted. Goodbye!", "info")
    return redirect(url_for("auth.login"))


def settings_problems(nickname: str, about: str, display_name: str) -> dict[str, str]:
    """Say what is wrong with each settings field, by field name."""
    errors = {}
    if len(display_name) > DISPLAY_NAME_MAX:
        errors["display_name"] = (
            f"Keep it to {DISPLAY_NAME_MAX} characters; this has {len(display_name)}."
        )
    if problem := nickname_problem(nickname):
        errors["nickname"] = problem
    elif (owner := get_user_by_nickname(nickname)) is not None and owner.id != current_user.id:
        errors["nickname"] = NICKNAME_TAKEN
    if len(about) > text.ABOUT_MAX_CHARS:
        errors["about"] = f"Keep it to {text.ABOUT_MAX_CHARS} characters; this has {len(about)}."
    return errors


def render_settings(
    nickname: str, about: str, display_name: str, errors: dict[str, str] | None = None
) -> str:
    """Render the settings form holding what was typed, and the account's sign-in methods."""
    return render_template(
        "views/settings.html",
        nickname=nickname,
        about=about,
        display_name=display_name,
        errors=errors or {},
        **identity.sign_in_methods(current_user),
    )
