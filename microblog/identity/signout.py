"""Signing out: this browser, one session from Settings, every other one, or everywhere;
and at the provider too (rp_logout)."""

from __future__ import annotations

import logging

from flask import abort, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..extensions import csrf
from . import backchannel, rp_logout, sessions
from .providers import OIDC
from .registry import get_provider
from .views import bp

log = logging.getLogger(__name__)


@bp.get("/logout")
def confirm_logout() -> str | Response:
    """Ask before signing out: a GET (a link, a prefetch) must never sign anyone out."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("auth/logout.html", provider=rp_logout.offer(sessions.current_session()))


@bp.post("/logout")
def logout() -> Response:
    """Sign this browser out (with `everywhere`, every session), then at the provider if asked."""
    asked = bool(request.form.get("at_provider"))
    at_provider = rp_logout.wanted(sessions.current_session(), asked)
    if current_user.is_authenticated and request.form.get("everywhere"):
        sessions.end_all_sessions(current_user)
        message = "You have signed out on every device."
    else:
        sessions.end_this_session()
        message = "You have signed out."
    if at_provider is not None:  # our own sign-out is done, whatever the provider does
        return rp_logout.redirect_to_provider(*at_provider, message)
    flash(message, "info")
    return redirect(url_for("auth.login"))


@bp.get("/auth/<name>/signed-out")
def signed_out(name: str) -> Response:
    """Welcome the browser back from the provider's sign-out; only our state confirms it."""
    provider = get_provider(name) or abort(404)
    flash(*rp_logout.returned(provider, request.args.get("state")))
    return redirect(url_for("auth.login"))


@bp.post("/settings/sessions/<int:session_id>/end")
@login_required
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
@login_required
def end_other_sessions() -> Response:
    """Sign out every browser but this one."""
    ended = sessions.end_other_sessions(current_user)
    plural = "" if ended == 1 else "s"
    flash(f"Signed out {ended} other session{plural}; this one stays signed in.", "success")
    return redirect(url_for("views.settings"))


@bp.post("/auth/<name>/backchannel-logout")
@csrf.exempt  # server to server: a signed token, no cookies
def backchannel_logout(name: str) -> tuple[Response, int]:
    """End the sessions a provider's logout token names (Back-Channel Logout 1.0)."""
    provider = get_provider(name)
    if provider is None or provider.kind != OIDC:
        abort(404)
    try:
        backchannel.log_out(provider, request.form.get("logout_token", ""))
    except backchannel.Refused as exc:
        log.warning("back-channel logout from %s refused: %s", name, exc)
        response, status = jsonify(error="invalid_request", error_description=str(exc)), 400
    else:
        response, status = make_response(""), 200
    response.headers["Cache-Control"] = "no-store"
    return response, status
