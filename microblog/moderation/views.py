"""Operators' pages under /admin/ (a 404 to everyone else), and the Report forms."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..extensions import db
from ..models import User
from ..security import rate_limit
from ..social import text
from ..social.models import Post
from . import actions
from .models import REASON_MAX, Report

bp = Blueprint("admin", __name__, url_prefix="/admin")
reports_bp = Blueprint("reports", __name__)
POST_ID = "<int(min=1, max=2147483647):post_id>"


def is_operator() -> bool:
    """Whether the signed-in person is an operator, once per request (the navigation asks)."""
    if not current_user.is_authenticated:
        return False
    if "is_operator" not in g:
        g.is_operator = actions.is_admin(current_user)
    shown: bool = g.is_operator
    return shown


@bp.before_request
def only_operators() -> None:
    """Answer 404, as if there were nothing here, to anyone but an operator."""
    if not is_operator():
        abort(404)


@bp.get("/reports")
def reports() -> str:
    """Show the open reports, oldest first."""
    return render_template("admin/reports.html", reports=actions.open_reports())


@bp.post("/reports/<int(max=2147483647):report_id>/<any(dismiss, delete, suspend):action>")
def act_on_report(report_id: int, action: str) -> Response:
    """Dismiss a report, delete the reported post, or suspend the reported person."""
    filed = db.get_or_404(Report, report_id)
    if action == "dismiss":
        actions.dismiss(current_user, filed)
        flash("The report is dismissed.", "success")
    elif action == "delete":
        post = db.session.get(Post, filed.post_id) if filed.post_id else None
        if post is None or post.deleted:
            flash("That post is already gone.", "info")
        else:
            actions.delete_post(current_user, post, filed)
            flash("The post is deleted.", "success")
    else:
        return suspend_or_restore(filed.user, "suspend", filed)
    return redirect(url_for("admin.reports"))


@bp.get("/users")
def users() -> str:
    """List people, newest first or by nickname, with their standing."""
    unsafe_query = request.args.get("q", "")
    return render_template("admin/users.html", users=actions.load_users(unsafe_query),
                           q=unsafe_query)  # fmt: skip


@bp.post("/users/<nickname:nickname>/<any(suspend, restore):action>")
def change_user(nickname: str, action: str) -> Response:
    """Suspend or restore someone."""
    user: User = db.first_or_404(sa.select(User).where(User.nickname == nickname))
    return suspend_or_restore(user, action)


def suspend_or_restore(user: User, action: str, filed: Report | None = None) -> Response:
    back = redirect(url_for("admin.reports" if filed else "admin.users"))
    if user.id == current_user.id:
        flash("You cannot suspend yourself.", "error")
        return back
    if action == "suspend":
        actions.suspend(current_user, user, filed)
        flash(f"{user.nickname} is suspended: signed out, posts hidden.", "success")
    else:
        actions.restore(current_user, user)
        flash(f"{user.nickname} is restored: they can sign in, posts shown.", "success")
    return back


@bp.get("/audit")
def audit_log() -> str:
    """Show what operators did, newest first."""
    return render_template("admin/audit.html", entries=actions.load_audit())


def _report_form(user: User, post: Post | None, reason: str = "", error: str | None = None) -> str:
    return render_template("admin/report.html", user=user, post=post, reason=reason, error=error)


def _file_report(user: User, post: Post | None, back: str) -> str | Response | tuple[str, int]:
    """Show the report form, or file the report it sends and go back."""
    if request.method == "GET":
        return _report_form(user, post)
    unsafe_reason = request.form.get("reason", "")
    reason = text.clean_text(unsafe_reason)
    if not reason or len(reason) > REASON_MAX:
        problem = f"Say in up to {REASON_MAX} characters what is wrong"
        problem += "." if not reason else f"; this has {len(reason)}."
        return _report_form(user, post, unsafe_reason, problem), 422
    actions.report(current_user, user, reason, post)
    flash("Thank you: the site's operators will look at your report.", "success")
    return redirect(back)


@reports_bp.route(f"/p/{POST_ID}/report", methods=["GET", "POST"])
@login_required
@rate_limit("POST_RATE_LIMIT", per_user=True)
def report_post(post_id: int) -> str | Response | tuple[str, int]:
    """Report a post to the operators, with a reason."""
    post: Post = db.first_or_404(
        sa.select(Post).join(Post.author).where(Post.id == post_id, User.suspended_at.is_(None))
    )
    return _file_report(post.author, post, url_for("views.thread", post_id=post_id))


@reports_bp.route("/u/<nickname:nickname>/report", methods=["GET", "POST"])
@login_required
@rate_limit("POST_RATE_LIMIT", per_user=True)
def report_user(nickname: str) -> str | Response | tuple[str, int]:
    """Report a person to the operators, with a reason."""
    user: User = db.first_or_404(
        sa.select(User).where(User.nickname == nickname, User.suspended_at.is_(None))
    )
    return _file_report(user, None, url_for("views.profile", nickname=nickname))
