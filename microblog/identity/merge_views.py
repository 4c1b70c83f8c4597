"""Settings' merge pages: confirm, or cancel, merging the account just proved into this one."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from . import merge
from .registry import provider_title
from .views import bp


@bp.get("/settings/merge")
@login_required
def confirm_merge() -> str | Response:
    """Show what merging the other account would move here, and ask to confirm."""
    other = merge.proposed(current_user)
    if other is None:
        flash("To merge an account, first sign in to it from Settings.", "info")
        return redirect(url_for("views.settings"))
    identities = [(provider_title(i.provider), i) for i in other.identities]
    return render_template("auth/merge.html", other=other, identities=identities)


@bp.post("/settings/merge")
@login_required
def merge_account() -> Response:
    """Merge the proved account into this one, once confirmed; or forget it, if cancelled."""
    other = merge.proposed(current_user)
    merge.forget_proposal()
    if request.form.get("cancel"):
        flash("Nothing was merged.", "info")
    elif other is None:
        flash("That merge had expired. Sign in to the other account again.", "error")
    else:
        nickname = other.nickname
        merge.merge_accounts(current_user, other)
        flash(f"{nickname} is merged into your account and signed out everywhere.", "success")
    return redirect(url_for("views.settings"))
