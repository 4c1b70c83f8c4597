"""Settings → API tokens: make one (shown once), see when each was last used, revoke one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..plaintext import clean_line
from . import tokens
from .models import SCOPES

bp = Blueprint("tokens", __name__)


@bp.route("/settings/tokens", methods=["GET", "POST"])
@login_required
def tokens_page() -> str | tuple[str, int]:
    """List one's tokens; make a new one and show its secret this once."""
    if request.method == "GET":
        return render_tokens()
    unsafe_name, scope = request.form.get("name", ""), request.form.get("scope", "")
    name = clean_line(unsafe_name)
    existing = len(tokens.load_tokens(current_user.id))
    if errors := tokens.token_problems(name, scope, existing):
        return render_tokens(unsafe_name, scope, errors=errors), 422
    token, secret = tokens.create_token(current_user.id, name, scope)
    # Rendered, not redirected: the secret must never sit in a cookie or a URL.
    return render_tokens(new=token, secret=secret), 201


@bp.post("/settings/tokens/<int(max=2147483647):token_id>/revoke")
@login_required
def revoke(token_id: int) -> Response:
    """Revoke one of one's tokens: it stops working at once."""
    if tokens.revoke(current_user.id, token_id):
        flash("The token is revoked: it no longer works.", "success")
    else:
        flash("That token was already revoked.", "info")
    return redirect(url_for("tokens.tokens_page"))


def render_tokens(
    name: str = "", scope: str = "read", errors: dict[str, str] | None = None, **new: object
) -> str:
    """Render the tokens page, the form holding what was typed."""
    return render_template(
        "api/tokens.html",
        tokens=tokens.load_tokens(current_user.id),
        name=name,
        scope=scope,
        scopes=SCOPES,
        errors=errors or {},
        **new,
    )
