"""The notifications page."""

from __future__ import annotations

from flask import g, render_template
from flask_login import current_user, login_required

from ..extensions import db
from . import notify
from .pages import read_window, unread_notifications
from .views import bp


@bp.get("/notifications")
@login_required
def notifications() -> str:
    """List mentions, replies, likes and new followers, newest first; all are now seen."""
    page = notify.load_notifications(current_user.id, read_window())
    if not unread_notifications():
        return render_template("views/notifications.html", page=page)  # nothing to write
    notify.mark_seen(current_user.id)
    g.unread_notifications = 0  # the navigation's count: just cleared
    html = render_template("views/notifications.html", page=page)
    db.session.commit()  # after rendering: a page that fails to render marks nothing seen
    return html
