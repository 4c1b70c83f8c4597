"""The notifications page."""

from __future__ import annotations

from flask import g, render_template
from flask_login import current_user

from ..extensions import db
from . import notify
from .pages import login_required, read_window
from .views import bp


@bp.get("/notifications")
@login_required
def notifications() -> str:
    """List mentions, replies, likes and new followers, newest first; all are now seen."""
    page = notify.load_notifications(current_user.id, read_window())
    notify.mark_seen(current_user.id)
    g.unread_notifications = 0  # the navigation's count: just cleared
    html = render_template("views/notifications.html", page=page)
    db.session.commit()  # after rendering: a commit would expire what the page shows
    return html
