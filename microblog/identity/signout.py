"""Signing out: this browser, one session from Settings, every other one, or everywhere."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from . import sessions
from .views import bp


@bp.get("/logout")
def confirm_logout() -> str | Response:
    """Ask before signing out: a GET (a link, a prefetch) must never sign anyone out."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html")


@bp.post("/logout")
def logout() -> Response:
    """Sign this browser out; with `everywhere`, every session and remember cookie too."""
    if current_user.is_authenticated and request.form.get("everywhere"):
        sessions.end_all_sessions(current_user)
        flash("You have signed out on every device.", "info")
    else:
        sessions.end_this_session()
        flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.post("/settings/sessions/<int:session_id>/end")
@login_required  # type: ignore[untyped-decorator]
def end_session(session_id: int) -> Response:
    """Sign out one browser listed in Settings (this one included)."""
    this = sessions.current_session()
    if not sessions.end_session(current_user, session_id):
        abort(404)
    if this is not None and this.id == session_id:
        flash("You have signed out.", "info")
        return redirect(url_for("auth.login"))
    flash("That session is signed out.", "success")
    return redirect(url_for("views.settings"))


@bp.post("/settings/sessions/end-others")
@login_required  # type: ignore[untyped-decorator]
def end_other_sessions() -> Response:
    """Sign out every browser but this one."""
    ended = sessions.end_other_sessions(current_user)
    plural = "" if ended == 1 else "s"
    flash(f"Signed out {ended} other session{plural}; this one stays signed in.", "success")
    return redirect(url_for("views.settings"))
