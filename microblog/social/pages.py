"""What the microblog's views read from the request: the viewer, the page window, the way back."""

from __future__ import annotations

import re

from flask import abort, current_app, g, request
from flask_login import current_user

from . import notify
from .paging import BROKEN_CURSOR, BrokenCursor, Window


def viewer_id() -> int | None:
    """Return the signed-in person's id, or None for a visitor."""
    return current_user.id if current_user.is_authenticated else None


def read_window(oldest_first: bool = False) -> Window:
    """Return the window the query string asks for; a broken cursor is a 400 page."""
    try:
        return Window.from_cursors(
            request.args.get("before"),
            request.args.get("after"),
            current_app.config["POSTS_PER_PAGE"],
            oldest_first,
        )
    except BrokenCursor:
        abort(400, BROKEN_CURSOR)


# A path on this site as forms send it back ("/u/bob?before=x#p12"): no scheme, no host, no
# second slash or backslash up front, nothing Werkzeug would rewrite into another site.
SAFE_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/?#]*")


def back_to(default: str) -> str:
    """Return the page a form says it came from (its `next` field) if it is ours, else default."""
    unsafe_next = request.form.get("next", "")
    if SAFE_PATH.fullmatch(unsafe_next):
        return unsafe_next
    return default


def keep_unread(count: int | None) -> None:
    """Keep the count of unseen notifications loaded with the session record (on_page_load)."""
    g.unread_notifications = count or 0


def unread_notifications() -> int:
    """Count the signed-in person's unseen notifications, once per request (for the nav)."""
    if not current_user.is_authenticated:
        return 0
    if "unread_notifications" not in g:
        g.unread_notifications = notify.unread_count(current_user.id)
    count: int = g.unread_notifications
    return count
